import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clampTimeout, deadNodes, heartbeatIntervalMs, LiveClock, silenceLimitMs, type HeardNode } from '../../control/cluster/node-liveness.js';

const heard = (nodeId: string, heardAt: number, timeoutMs = 10_000): HeardNode => ({ nodeId, revision: 1, heardAt, timeoutMs });

test('a node beats ten times per timeout and is dead after eight silent intervals', () => {
  assert.equal(heartbeatIntervalMs(10_000), 1000);
  assert.equal(silenceLimitMs(10_000), 8000);
  assert.equal(silenceLimitMs(3000), 2400);
});

test('live time advances with this node\'s own heartbeats coming back, by at most two intervals per gap', () => {
  const clock = new LiveClock(1000);
  assert.equal(clock.ownHeartbeat(5000), 0, 'the first one starts the clock');
  assert.equal(clock.ownHeartbeat(6000), 1000);
  assert.equal(clock.ownHeartbeat(7100), 2100);
  assert.equal(clock.ownHeartbeat(60_000), 4100, 'a minute without its own heartbeat (NATS away, feed stalled) counts as two intervals');
  assert.equal(clock.ownHeartbeat(59_000), 4100, 'a clock going back counts nothing');
  assert.equal(clock.reading, 4100);
});

test('nodes silent past their own limit of live time are dead', () => {
  const nodes = [heard('quiet', 0), heard('talking', 7000), heard('short', 5000, 3000)];
  assert.deepEqual(deadNodes(nodes, 8000).map((n) => n.nodeId), ['quiet', 'short']);
  assert.deepEqual(deadNodes(nodes, 7399).map((n) => n.nodeId), []);
  assert.deepEqual(deadNodes(nodes, 7400).map((n) => n.nodeId), ['short']);
});

test('declared timeouts are clamped to 1 s .. 10 min', () => {
  assert.equal(clampTimeout(0), 1000);
  assert.equal(clampTimeout(4_000_000_000), 600_000);
  assert.equal(clampTimeout(Number.NaN), 1000);
  assert.equal(clampTimeout(5000), 5000);
});
