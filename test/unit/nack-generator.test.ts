import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_NACK_POLICY, NackGenerator, type NackPolicy } from '../../media/rtp/nack-generator.js';

/** What `generator` asks for at `now`. */
function due(generator: NackGenerator, now: number): number[] {
  const out: number[] = [];
  generator.collect(now, out);
  return out;
}

/** Feeds `seqs` in order at `now`. */
function feed(generator: NackGenerator, seqs: number[], now = 0): void {
  for (const seq of seqs) generator.onPacket(seq, now);
}

const POLICY: NackPolicy = { ...DEFAULT_NACK_POLICY, minRetryMs: 20, maxRetryMs: 250, initialRttMs: 100, maxNacks: 3, maxWaitMs: 1000 };

describe('NackGenerator', () => {
  test('a stream in order misses nothing', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [10, 11, 12, 13]);
    assert.equal(generator.missingCount, 0);
    assert.deepEqual(due(generator, 0), []);
  });

  test('a gap is asked for at once, oldest first', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [10, 11, 14, 15, 17]);
    assert.deepEqual(due(generator, 0), [12, 13, 16]);
    assert.equal(generator.nacked, 3);
    assert.deepEqual(due(generator, 1), [], 'not again before the retry interval');
  });

  test('across the wrap of the sequence number', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [65533, 65534, 1, 2]);
    assert.deepEqual(due(generator, 0), [65535, 0]);
    assert.equal(generator.onPacket(0, 5), true);
    assert.equal(generator.onPacket(65535, 5), true);
    assert.equal(generator.missingCount, 0);
    assert.equal(generator.recovered, 2);
  });

  test('a late (reordered) packet fills its gap; a duplicate or an old packet changes nothing', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [100, 102]);
    assert.equal(generator.onPacket(101, 1), true);
    assert.equal(generator.onPacket(101, 2), false, 'again');
    assert.equal(generator.onPacket(102, 2), false, 'the highest again');
    assert.equal(generator.onPacket(90, 2), false, 'older than anything missing');
    assert.equal(generator.missingCount, 0);
    feed(generator, [103]);
    assert.deepEqual(due(generator, 3), [], 'the highest did not move back');
  });

  test('a retransmission (RTX) counts only for a packet missing', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [1, 3]);
    assert.equal(generator.recover(1, 0), false, 'arrived already (a probe re-sends such packets)');
    assert.equal(generator.recover(2, 0), true);
    assert.equal(generator.recover(2, 0), false, 'a duplicate');
    assert.equal(generator.recover(500, 0), false, 'never sent');
    assert.equal(generator.recovered, 1);
  });

  test('asked again every retry interval, at most maxNacks times, then given up', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [1, 3]);
    const interval = generator.retryIntervalMs;
    assert.equal(interval, 150, '1.5 × the assumed round trip');
    assert.deepEqual(due(generator, 0), [2]);
    assert.deepEqual(due(generator, interval - 1), []);
    assert.deepEqual(due(generator, interval), [2]);
    assert.deepEqual(due(generator, 2 * interval), [2]);
    assert.equal(generator.missingCount, 1, 'waits one more interval for the last answer');
    assert.deepEqual(due(generator, 3 * interval), []);
    assert.equal(generator.missingCount, 0);
    assert.equal(generator.givenUp, 1);
    assert.equal(generator.nacked, 1, 'one sequence number asked for');
  });

  test('given up after maxWaitMs, however few NACKs went out', () => {
    const generator = new NackGenerator({ ...POLICY, maxNacks: 100, initialRttMs: 1000, maxRetryMs: 2000 });
    feed(generator, [1, 3], 0);
    assert.deepEqual(due(generator, 0), [2]);
    assert.deepEqual(due(generator, 999), []);
    assert.equal(generator.missingCount, 1);
    assert.deepEqual(due(generator, 1000), []);
    assert.equal(generator.missingCount, 0);
    assert.equal(generator.givenUp, 1);
    assert.equal(generator.onPacket(2, 1001), false, 'too late to count as recovered');
  });

  test('the retry interval follows the round trip of answered NACKs, within its bounds', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [1, 3]);
    due(generator, 0);
    generator.onPacket(2, 4);
    assert.equal(generator.rttMs, 4, 'the first sample is taken as it is');
    assert.equal(generator.retryIntervalMs, POLICY.minRetryMs);
    for (let i = 0; i < 100; i++) {
      const seq = 10 + 2 * i;
      feed(generator, [seq + 1], 1000 * i);
      due(generator, 1000 * i);
      generator.recover(seq, 1000 * i + 600);
    }
    assert.ok(generator.rttMs > 550 && generator.rttMs <= 600, `${generator.rttMs}`);
    assert.equal(generator.retryIntervalMs, POLICY.maxRetryMs);
  });

  test('a jump further ahead than maxMissing starts the stream anew: nothing is asked for', () => {
    const generator = new NackGenerator({ ...POLICY, maxMissing: 100 });
    feed(generator, [1, 3]);
    generator.onPacket(3 + 101, 0);
    assert.equal(generator.missingCount, 0);
    assert.deepEqual(due(generator, 0), []);
    assert.equal(generator.givenUp, 1, 'what was missing is given up');
    feed(generator, [106]);
    assert.deepEqual(due(generator, 0), [105], 'and the new numbering is followed');
  });

  test('a jump of exactly maxMissing is loss: every sequence number in between is asked for', () => {
    const generator = new NackGenerator({ ...POLICY, maxMissing: 100 });
    feed(generator, [65500, (65500 + 100) & 0xffff]);
    const asked = due(generator, 0);
    assert.equal(asked.length, 99);
    assert.equal(asked[0], 65501);
    assert.equal(asked.at(-1), (65500 + 99) & 0xffff);
  });

  test('a sender that jumps back far starts the stream anew too', () => {
    const generator = new NackGenerator({ ...POLICY, maxBehind: 1000 });
    feed(generator, [5000, 5002]);
    generator.onPacket(5002 - 1001, 0);
    assert.equal(generator.missingCount, 0);
    feed(generator, [5002 - 999]);
    assert.deepEqual(due(generator, 0), [5002 - 1000]);
  });

  test('a hostile sender hopping ahead never makes the list longer than maxMissing', () => {
    const generator = new NackGenerator({ ...POLICY, maxMissing: 64 });
    let seq = 0;
    let asked = 0;
    for (let i = 0; i < 10_000; i++) {
      seq = (seq + 1 + (i % 80)) & 0xffff;
      generator.onPacket(seq, i);
      assert.ok(generator.missingCount <= 64);
      asked += due(generator, i).length;
    }
    assert.ok(asked > 0);
    assert.ok(generator.givenUp > 0);
  });

  test('the oldest missing are given up first when more than maxMissing are missing', () => {
    const generator = new NackGenerator({ ...POLICY, maxMissing: 4 });
    feed(generator, [0, 3, 7]);
    assert.deepEqual(due(generator, 0), [2, 4, 5, 6], 'the newest four of 1, 2, 4, 5, 6');
    assert.equal(generator.givenUp, 1);
  });

  test('reset forgets everything missing', () => {
    const generator = new NackGenerator(POLICY);
    feed(generator, [1, 5]);
    generator.reset();
    assert.equal(generator.missingCount, 0);
    assert.equal(generator.givenUp, 3);
    feed(generator, [40000, 40001]);
    assert.deepEqual(due(generator, 0), []);
  });
});
