import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram, StreamReceiver } from '../../bench/client/stream-stats.js';

test('latency percentiles come from 0.1 ms buckets and merge across processes', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) (i % 2 ? a : b).add(i);
  a.merge(b.sparse(), b.maxMs);
  assert.equal(a.count, 100);
  assert.equal(a.percentile(50).toFixed(1), '50.1');
  assert.equal(a.percentile(99).toFixed(1), '99.1');
  assert.equal(a.maxMs, 100);
  a.reset();
  assert.equal(a.percentile(50), 0);
});

test('a stream counts unique probe counters and estimates jitter', () => {
  const stream = new StreamReceiver(new LatencyHistogram());
  const probe = (counter: number, sentAtMs: number) => ({ counter, sentAtMs, keyframe: false });
  stream.onProbe(probe(10, 0), 5);
  stream.onProbe(probe(11, 20), 25);
  stream.onProbe(probe(11, 20), 26); // duplicate (a retransmission that was not needed)
  stream.onProbe(probe(13, 60), 75); // 12 lost; 10 ms more transit
  assert.equal(stream.expected, 4);
  assert.equal(stream.received, 3);
  assert.ok(stream.jitterSamples === 2 && stream.jitterSumMs > 0);
});
