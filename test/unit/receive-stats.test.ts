import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReceiveStats } from '../../media/rtp/receive-stats.js';

function rtp(seq: number, size = 100): Buffer {
  const b = Buffer.alloc(size);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  return b;
}

function feed(stats: ReceiveStats, seqs: number[]): void {
  for (const seq of seqs) stats.onPacket(rtp(seq));
}

describe('ReceiveStats', () => {
  test('nothing received: nothing expected, nothing lost', () => {
    const s = new ReceiveStats();
    assert.deepEqual(s.takeInterval(), { expected: 0, lost: 0 });
    assert.equal(s.packets, 0);
    assert.equal(s.bytes, 0);
  });

  test('counts packets and bytes', () => {
    const s = new ReceiveStats();
    s.onPacket(rtp(1, 100));
    s.onPacket(rtp(2, 250));
    s.onPacket(rtp(3, 12));
    assert.equal(s.packets, 3);
    assert.equal(s.bytes, 362);
    s.takeInterval();
    assert.equal(s.packets, 3, 'totals are not reset per interval');
  });

  test('a single packet: one expected, none lost', () => {
    const s = new ReceiveStats();
    feed(s, [500]);
    assert.deepEqual(s.takeInterval(), { expected: 1, lost: 0 });
  });

  test('no gaps: no loss', () => {
    const s = new ReceiveStats();
    feed(s, [10, 11, 12, 13, 14]);
    assert.deepEqual(s.takeInterval(), { expected: 5, lost: 0 });
  });

  test('gaps count as loss', () => {
    const s = new ReceiveStats();
    feed(s, [10, 11, 14, 15, 20]); // 12, 13, 16..19 missing
    assert.deepEqual(s.takeInterval(), { expected: 11, lost: 6 });
  });

  test('loss per interval, each interval from where the previous ended', () => {
    const s = new ReceiveStats();
    feed(s, [1, 2, 3]);
    assert.deepEqual(s.takeInterval(), { expected: 3, lost: 0 });
    feed(s, [5, 6, 8]); // 4 and 7 missing
    assert.deepEqual(s.takeInterval(), { expected: 5, lost: 2 });
    feed(s, [9, 10]);
    assert.deepEqual(s.takeInterval(), { expected: 2, lost: 0 });
  });

  test('an empty interval after traffic expects nothing', () => {
    const s = new ReceiveStats();
    feed(s, [1, 2, 3]);
    s.takeInterval();
    assert.deepEqual(s.takeInterval(), { expected: 0, lost: 0 });
  });

  test('wrap-around from 65535 to 0 is not a loss', () => {
    const s = new ReceiveStats();
    feed(s, [65533, 65534, 65535, 0, 1, 2]);
    assert.deepEqual(s.takeInterval(), { expected: 6, lost: 0 });
  });

  test('loss across the wrap', () => {
    const s = new ReceiveStats();
    feed(s, [65533, 65535, 2]); // 65534, 0, 1 missing
    assert.deepEqual(s.takeInterval(), { expected: 6, lost: 3 });
  });

  test('wrap between two intervals', () => {
    const s = new ReceiveStats();
    feed(s, [65530, 65531, 65532]);
    assert.deepEqual(s.takeInterval(), { expected: 3, lost: 0 });
    feed(s, [65534, 65535, 0, 1]); // 65533 missing
    assert.deepEqual(s.takeInterval(), { expected: 5, lost: 1 });
  });

  test('many wraps accumulate', () => {
    const s = new ReceiveStats();
    let total = 0;
    for (let i = 0; i < 3 * 65536 + 10; i += 1) {
      if (i % 100 !== 0) s.onPacket(rtp(40000 + i));
      total++;
    }
    // The first packet (i = 0) is missing too: it counts from i = 1.
    const { expected, lost } = s.takeInterval();
    assert.equal(expected, total - 1);
    assert.equal(lost, Math.floor((total - 1) / 100));
  });

  test('reordering within an interval is not loss', () => {
    const s = new ReceiveStats();
    feed(s, [10, 12, 11, 14, 13, 15]);
    assert.deepEqual(s.takeInterval(), { expected: 6, lost: 0 });
  });

  test('reordering across the wrap is not loss', () => {
    const s = new ReceiveStats();
    feed(s, [65534, 0, 65535, 1]);
    assert.deepEqual(s.takeInterval(), { expected: 4, lost: 0 });
  });

  test('a late packet from the previous interval never makes loss negative', () => {
    const s = new ReceiveStats();
    feed(s, [1, 2, 4]);
    assert.deepEqual(s.takeInterval(), { expected: 4, lost: 1 });
    feed(s, [3, 5]); // 3 arrives late
    assert.deepEqual(s.takeInterval(), { expected: 1, lost: 0 });
  });

  test('a packet older than the first one is not counted as wrap', () => {
    const s = new ReceiveStats();
    feed(s, [100, 99, 101]);
    assert.deepEqual(s.takeInterval(), { expected: 2, lost: 0 });
    feed(s, [102, 104]);
    assert.deepEqual(s.takeInterval(), { expected: 3, lost: 1 });
  });

  test('duplicates do not raise the expected count', () => {
    const s = new ReceiveStats();
    feed(s, [1, 2, 2, 3]);
    assert.deepEqual(s.takeInterval(), { expected: 3, lost: 0 });
  });

  test('first sequence number 0', () => {
    const s = new ReceiveStats();
    feed(s, [0, 1, 3]);
    assert.deepEqual(s.takeInterval(), { expected: 4, lost: 1 });
  });
});
