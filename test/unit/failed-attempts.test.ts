import { describe, expect, it } from 'vitest';
import { redact } from '../../activities/failures';
import { nextAttemptStart } from '../../activities/insert-attempt';
import { shiftedRetryPolicy } from '../../src/temporal/contracts';

const POLICY = { initialIntervalMs: 10_000, backoffCoefficient: 2, maximumIntervalMs: 300_000, maximumAttempts: 8 };
const NOW = new Date('2024-10-01T12:00:00Z');
const after = (attempt: number) => nextAttemptStart(POLICY, attempt, NOW)?.toISOString() ?? null;

describe('when the next attempt of a failed insert starts', () => {
  it('follows the retry policy: the initial interval, doubling, capped at the maximum', () => {
    expect(after(1)).toBe('2024-10-01T12:00:10.000Z');
    expect(after(2)).toBe('2024-10-01T12:00:20.000Z');
    expect(after(5)).toBe('2024-10-01T12:02:40.000Z');
    expect(after(6)).toBe('2024-10-01T12:05:00.000Z');
  });

  it('is null after the last attempt, and when the policy is unknown (a run started before it was passed)', () => {
    expect(after(8)).toBeNull();
    expect(nextAttemptStart(undefined, 1, NOW)).toBeNull();
  });

  it('always exists when attempts are unlimited (maximumAttempts 0)', () => {
    expect(nextAttemptStart({ ...POLICY, maximumAttempts: 0 }, 100, NOW)?.toISOString()).toBe(
      '2024-10-01T12:05:00.000Z',
    );
  });
});

describe('masking secrets in what a failed attempt records', () => {
  it('replaces every occurrence of each secret value', () => {
    expect(redact('auth failed for s3cr3t-key (s3cr3t-key)', ['s3cr3t-key'])).toBe('auth failed for *** (***)');
  });

  it('leaves values too short to be told from ordinary words', () => {
    expect(redact('user abc: no access', ['abc'])).toBe('user abc: no access');
  });
});

describe('the insert activity after a failed local insert (shiftedRetryPolicy)', () => {
  it('gives its attempts the backoffs and the count the run attempts 2, 3, ... have under the policy', () => {
    const shifted = shiftedRetryPolicy(POLICY, 1);
    expect(shifted.maximumAttempts).toBe(7);
    // Temporal's attempt n of the activity is the run's attempt n + 1: the delay after each is the same.
    for (let attempt = 1; attempt < 7; attempt++) {
      expect(nextAttemptStart(shifted, attempt, NOW)).toEqual(nextAttemptStart(POLICY, attempt + 1, NOW));
    }
    expect(nextAttemptStart(shifted, 7, NOW)).toBeNull();
    expect(nextAttemptStart(POLICY, 8, NOW)).toBeNull();
  });

  it('keeps unlimited attempts unlimited, leaves at least one, and changes nothing when none was made', () => {
    expect(shiftedRetryPolicy({ ...POLICY, maximumAttempts: 0 }, 1).maximumAttempts).toBe(0);
    expect(shiftedRetryPolicy({ ...POLICY, maximumAttempts: 1 }, 1).maximumAttempts).toBe(1);
    expect(shiftedRetryPolicy(POLICY, 0)).toBe(POLICY);
  });
});
