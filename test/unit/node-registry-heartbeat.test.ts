import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KV } from 'nats';
import pino from 'pino';
import { NodeRegistry } from '../../control/cluster/node-registry.js';
import type { StateView } from '../../control/cluster/state-view.js';

test('heartbeats stuck until the KV timeout do not keep a node from heartbeating once NATS answers again', async () => {
  let now = 0;
  const puts: Array<(revision: number) => void> = [];
  const kv = { put: () => new Promise<number>((resolve) => puts.push(resolve)) } as unknown as KV;
  const registry = new NodeRegistry({
    kv,
    cleanups: kv,
    view: {} as StateView,
    connected: () => true,
    nodeId: 'n1',
    timeoutMs: 3000, // a heartbeat every 300 ms, a silence limit of 2.4 s: shorter than the KV timeout
    log: pino({ level: 'silent' }),
    participantsRemoved: async () => undefined,
    feedStalled: () => undefined,
    now: () => now,
  });
  for (let i = 0; i < 5; i++) void registry.heartbeat();
  assert.equal(puts.length, 3, 'three at once at most while NATS does not answer');
  now = 500;
  void registry.heartbeat();
  assert.equal(puts.length, 3, 'still three recent ones');
  now = 700; // two intervals on: the stuck ones no longer hold the next one back
  void registry.heartbeat();
  assert.equal(puts.length, 4);
  for (const resolve of puts) resolve(1);
  registry.stop();
});
