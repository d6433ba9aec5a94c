import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { InThreadPort } from '../../media/bus/in-thread-port.js';
import type { PortMessage } from '../../media/bus/port-link.js';

const packets = (trackId: string): PortMessage => ({ t: 'packets', trackIds: [trackId], payloads: [new Uint8Array([1, 2, 3])] });

test('messages reach the other end in order, by reference, within the same event-loop turn', async () => {
  const [a, b] = InThreadPort.pair();
  const received: PortMessage[] = [];
  b.on('message', (message: PortMessage) => received.push(message));
  const first = packets('t1');
  a.postMessage(first);
  a.postMessage(packets('t2'));
  assert.equal(received.length, 0, 'not delivered inside the sender\'s call');
  // A setImmediate callback runs after this turn's microtasks: both must have arrived by then.
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(received.map((m) => (m.t === 'packets' ? m.trackIds[0] : '')), ['t1', 't2']);
  assert.equal(received[0], first, 'the same object, not a copy');
});

test('either end posts to the other; close delivers what was posted before it, then emits close on both ends, and drops what is posted after', async () => {
  const [a, b] = InThreadPort.pair();
  const atA: PortMessage[] = [];
  const atB: PortMessage[] = [];
  a.on('message', (message: PortMessage) => atA.push(message));
  b.on('message', (message: PortMessage) => atB.push(message));
  b.postMessage({ t: 'interest', trackId: 'x', on: true });
  a.postMessage(packets('queued before close'));
  const closes = Promise.all([once(a, 'close'), once(b, 'close')]);
  b.close();
  await closes;
  a.postMessage(packets('after close'));
  b.postMessage(packets('after close'));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(atA.map((m) => m.t), ['interest']);
  assert.deepEqual(atB.map((m) => (m.t === 'packets' ? m.trackIds[0] : '')), ['queued before close']);
});
