import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ScriptThread } from '../../src/formats/thread';

// Echoes the request's text as bytes; remembers how many requests this thread instance served.
const ECHO = `
const { parentPort } = require('node:worker_threads');
let served = 0;
parentPort.on('message', ({ id, text }) => {
  served++;
  const bytes = new TextEncoder().encode(text + ' #' + served);
  parentPort.postMessage({ id, bytes }, [bytes.buffer]);
});
`;

describe('ScriptThread', () => {
  it('exits after being idle, when nothing holds it, and starts afresh on the next request', async () => {
    let holding = true;
    const thread = new ScriptThread('echo', ECHO, { idleExitMs: 50, canExit: () => !holding });

    expect((await thread.request({ text: 'a' })).toString()).toBe('a #1');
    await sleep(200);
    // Idle, but still holding state: it stays.
    expect(thread.running).toBe(true);
    expect((await thread.request({ text: 'b' })).toString()).toBe('b #2');

    holding = false;
    await sleep(200);
    expect(thread.running).toBe(false);
    // A new thread: its count starts over.
    expect((await thread.request({ text: 'c' })).toString()).toBe('c #1');
    holding = true;
  });

  it('keeps running while requests come more often than the idle time', async () => {
    const thread = new ScriptThread('echo', ECHO, { idleExitMs: 150 });
    for (let i = 1; i <= 5; i++) {
      expect((await thread.request({ text: 'x' })).toString()).toBe(`x #${i}`);
      await sleep(50);
    }
    await sleep(400);
    expect(thread.running).toBe(false);
  });
});
