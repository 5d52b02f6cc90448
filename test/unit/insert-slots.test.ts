import { describe, expect, it } from 'vitest';
import { InsertSlots } from '../../activities/insert-slots';

describe('the insert slots local inserts and the insert activity share (InsertSlots)', () => {
  it('gives a local insert a slot only while one is free', () => {
    const slots = new InsertSlots(2);
    const first = slots.tryTake();
    const second = slots.tryTake();
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(slots.tryTake()).toBeNull();
    first!();
    first!(); // released once, however often called
    expect(slots.tryTake()).not.toBeNull();
    expect(slots.tryTake()).toBeNull();
  });

  it('makes the activity wait for a slot, oldest waiter first, and hands a freed slot on before a new local insert', async () => {
    const slots = new InsertSlots(1);
    const held = slots.tryTake()!;
    const order: string[] = [];
    const a = slots.take(new AbortController().signal).then((release) => (order.push('a'), release));
    const b = slots.take(new AbortController().signal).then((release) => (order.push('b'), release));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    held();
    // The freed slot went to the waiter, not back to the pool.
    expect(slots.tryTake()).toBeNull();
    (await a)();
    (await b)();
    expect(order).toEqual(['a', 'b']);
    expect(slots.tryTake()).not.toBeNull();
  });

  it('stops waiting when the attempt is cancelled, and the slot it did not get goes to the next waiter', async () => {
    const slots = new InsertSlots(1);
    const held = slots.tryTake()!;
    const cancelled = new AbortController();
    const waiting = slots.take(cancelled.signal);
    const next = slots.take(new AbortController().signal);
    cancelled.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    held();
    const release = await next;
    expect(slots.tryTake()).toBeNull();
    release();
    expect(slots.tryTake()).not.toBeNull();
  });
});
