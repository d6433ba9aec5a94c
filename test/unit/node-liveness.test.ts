import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clampTimeout, deadNodes, feedLive, heartbeatIntervalMs, silenceLimitMs, type HeardNode } from '../../control/cluster/node-liveness.js';

const heard = (nodeId: string, heardAt: number, timeoutMs = 10_000): HeardNode => ({ nodeId, revision: 1, heardAt, timeoutMs });

test('a node beats five times per timeout and is dead after four silent intervals', () => {
  assert.equal(heartbeatIntervalMs(10_000), 2000);
  assert.equal(silenceLimitMs(10_000), 8000);
  assert.equal(silenceLimitMs(3000), 2400);
});

test('nodes silent past their limit are dead, judged only while this node hears its own heartbeats', () => {
  const nodes = [heard('quiet', 0), heard('talking', 7000), heard('short', 5000, 3000)];
  assert.deepEqual(deadNodes(nodes, 8000, 7900, 10_000).map((n) => n.nodeId), ['quiet', 'short']);
  assert.deepEqual(deadNodes(nodes, 7999, 7900, 10_000).map((n) => n.nodeId), ['short']);
  assert.deepEqual(deadNodes(nodes, 20_000, 15_000, 10_000), [], 'own heartbeat not heard for 5 s: the feed is stalled, nobody is judged');
  assert.deepEqual(deadNodes(nodes, 20_000, undefined, 10_000), [], 'before the first own heartbeat, nobody is judged');
  assert.equal(feedLive(20_000, 16_000, 10_000), true);
  assert.equal(feedLive(20_000, 15_999, 10_000), false);
});

test('declared timeouts are clamped to 1 s .. 10 min', () => {
  assert.equal(clampTimeout(0), 1000);
  assert.equal(clampTimeout(4_000_000_000), 600_000);
  assert.equal(clampTimeout(Number.NaN), 1000);
  assert.equal(clampTimeout(5000), 5000);
});
