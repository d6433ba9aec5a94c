import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readSourceHeader, restoreHeader, RtpRewriter, type SourceHeader } from '../../media/rtp/rewriter.js';
import { marker, payloadType, seqDelta, sequenceNumber, ssrc, timestamp } from '../../media/rtp/rtp-packet.js';

const OUT_SSRC = 0xabcdef01;
const OUT_PT = 100;
const VIDEO_CLOCK = 90000;

function rtp(src: number, seq: number, ts: number, pt = 96, mark = false): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = (mark ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(src >>> 0, 8);
  b.write('payload!', 12, 'ascii');
  return b;
}

function header(packet: Uint8Array): SourceHeader {
  const h: SourceHeader = { ssrc: 0, payloadType: 0, seq: 0, ts: 0 };
  readSourceHeader(packet, h);
  return h;
}

/** Rewrites a fresh packet and returns it, or undefined when the rewriter refused it. */
function send(rw: RtpRewriter, src: number, seq: number, ts: number, nowMs: number, pt = 96): Buffer | undefined {
  const p = rtp(src, seq, ts, pt);
  return rw.rewrite(p, header(p), nowMs) ? p : undefined;
}

describe('RtpRewriter', () => {
  test('first packet gets the initial sequence number and timestamp', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 5000, 777777);
    const p = send(rw, 0x1111, 40000, 123456789, 0)!;
    assert.equal(sequenceNumber(p), 5000);
    assert.equal(timestamp(p), 777777);
    assert.equal(rw.lastSequenceNumber, 5000);
  });

  test('writes the output SSRC and payload type into every packet, keeps marker and payload', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 1, 1);
    for (const [src, pt] of [
      [0x1111, 96],
      [0x2222, 98],
    ] as const) {
      const p = rtp(src, 10, 1000, pt, true);
      assert.equal(rw.rewrite(p, header(p), 0), true);
      assert.equal(ssrc(p), OUT_SSRC);
      assert.equal(payloadType(p), OUT_PT);
      assert.equal(marker(p), true);
      assert.equal(p.toString('ascii', 12), 'payload!');
    }
  });

  test('sequence numbers and timestamps follow the source within one source', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 100, 1000);
    const outs = [0, 1, 2, 3].map((i) => send(rw, 0x1111, 2000 + i, 50000 + 3000 * i, i * 33)!);
    assert.deepEqual(outs.map(sequenceNumber), [100, 101, 102, 103]);
    assert.deepEqual(outs.map(timestamp), [1000, 4000, 7000, 10000]);
  });

  test('uses the source header passed in, not what the packet holds', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 100, 1000);
    send(rw, 0x1111, 10, 0, 0);
    // The shared packet already carries another subscriber's values.
    const p = rtp(0x9999, 60000, 0x77777777, 101);
    assert.equal(rw.rewrite(p, { ssrc: 0x1111, payloadType: 96, seq: 11, ts: 3000 }, 33), true);
    assert.equal(sequenceNumber(p), 101);
    assert.equal(timestamp(p), 4000);
  });

  test('output sequence numbers wrap from 65535 to 0', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 65534, 0);
    const outs = [0, 1, 2, 3].map((i) => sequenceNumber(send(rw, 0x1111, 300 + i, 0, 0)!));
    assert.deepEqual(outs, [65534, 65535, 0, 1]);
    assert.equal(rw.lastSequenceNumber, 1);
  });

  test('source sequence number wrap maps to +1 steps', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 1000, 0);
    const outs = [65534, 65535, 0, 1].map((seq) => sequenceNumber(send(rw, 0x1111, seq, 0, 0)!));
    assert.deepEqual(outs, [1000, 1001, 1002, 1003]);
  });

  test('output timestamps wrap at 2^32', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 0xffffff00);
    const outs = [0, 1, 2].map((i) => timestamp(send(rw, 0x1111, i, 10 + 3000 * i, 0)!));
    assert.deepEqual(outs, [0xffffff00, (0xffffff00 + 3000) % 2 ** 32, (0xffffff00 + 6000) % 2 ** 32]);
    assert.equal(outs[1], 2744);
  });

  test('source timestamp wrap maps continuously', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 5000);
    const a = timestamp(send(rw, 0x1111, 1, 0xfffffc00, 0)!);
    const b = timestamp(send(rw, 0x1111, 2, 0x00000800, 33)!);
    assert.equal(a, 5000);
    assert.equal(b, 5000 + 0x400 + 0x800);
  });

  test('out-of-order packets map consistently and do not move lastSequenceNumber back', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 500, 0);
    const a = send(rw, 0x1111, 100, 9000, 0)!;
    const c = send(rw, 0x1111, 102, 9000 + 6000, 66)!;
    const b = send(rw, 0x1111, 101, 9000 + 3000, 70)!;
    assert.deepEqual([a, b, c].map(sequenceNumber), [500, 501, 502]);
    assert.deepEqual([a, b, c].map(timestamp), [0, 3000, 6000]);
    assert.equal(rw.lastSequenceNumber, 502);
    // A retransmission of an old packet maps to the same output again.
    assert.equal(sequenceNumber(send(rw, 0x1111, 100, 9000, 200)!), 500);
    assert.equal(rw.lastSequenceNumber, 502);
  });

  test('a source switch continues sequence numbers by exactly +1', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 1000, 0);
    for (let i = 0; i < 5; i++) send(rw, 0x1111, 30000 + i, 3000 * i, 33 * i);
    assert.equal(rw.lastSequenceNumber, 1004);
    const outs = [0, 1, 2].map((i) => sequenceNumber(send(rw, 0x2222, 7 + i, 90000 * 7 + 3000 * i, 500 + 33 * i)!));
    assert.deepEqual(outs, [1005, 1006, 1007]);
  });

  test('a source switch across the output wrap continues at 0', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 65534, 0);
    send(rw, 0x1111, 10, 0, 0);
    send(rw, 0x1111, 11, 3000, 33);
    assert.equal(rw.lastSequenceNumber, 65535);
    assert.equal(sequenceNumber(send(rw, 0x2222, 40000, 0, 100)!), 0);
    assert.equal(sequenceNumber(send(rw, 0x2222, 40001, 3000, 133)!), 1);
  });

  test('timestamps advance by the elapsed wall time in clock-rate ticks across a switch', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 1_000_000);
    send(rw, 0x1111, 1, 5000, 1000);
    const last = timestamp(send(rw, 0x1111, 2, 8000, 1033)!);
    assert.equal(last, 1_003_000);
    // 500 ms later the new source starts: 0.5 s * 90 kHz = 45000 ticks.
    const first = send(rw, 0x2222, 60000, 0x12345678, 1533)!;
    assert.equal(timestamp(first), 1_003_000 + 45000);
    // Later packets of the new source keep its own spacing.
    assert.equal(timestamp(send(rw, 0x2222, 60001, 0x12345678 + 3000, 1566)!), 1_003_000 + 45000 + 3000);
  });

  test('audio clock rate: 48 kHz', () => {
    const rw = new RtpRewriter(OUT_SSRC, 111, 48000, 0, 0);
    send(rw, 0x1111, 1, 960, 0);
    const first = send(rw, 0x2222, 1, 0, 250)!;
    assert.equal(timestamp(first), 12000);
  });

  test('a switch with no time elapsed (or the clock going back) still advances the timestamp', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 100);
    send(rw, 0x1111, 1, 0, 1000);
    assert.equal(timestamp(send(rw, 0x2222, 1, 0, 1000)!), 101);
    assert.equal(timestamp(send(rw, 0x3333, 1, 0, 900)!), 102);
  });

  test('timestamps keep increasing across a switch near the 2^32 wrap', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 0xffffff00);
    send(rw, 0x1111, 1, 0, 0);
    const after = timestamp(send(rw, 0x2222, 1, 0xdeadbeef, 10)!);
    // 10 ms = 900 ticks past 0xffffff00, modulo 2^32
    assert.equal(after, (0xffffff00 + 900) % 2 ** 32);
    assert.equal(after, 644);
  });

  test('packets of the previous source after a switch are dropped untouched', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 0);
    send(rw, 0x1111, 10, 0, 0);
    send(rw, 0x2222, 500, 0, 100);
    const straggler = rtp(0x1111, 11, 3000);
    const copy = Buffer.from(straggler);
    assert.equal(rw.rewrite(straggler, header(straggler), 110), false);
    assert.deepEqual(straggler, copy);
    assert.equal(rw.lastSequenceNumber, 1);
    // The current source is unaffected.
    assert.equal(sequenceNumber(send(rw, 0x2222, 501, 3000, 133)!), 2);
  });

  test('sequence numbers never repeat over several switches in order', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 65530, 0);
    const seen: number[] = [];
    let now = 0;
    for (const [src, startSeq] of [
      [0x1, 65533],
      [0x2, 12],
      [0x3, 40000],
    ] as const) {
      for (let i = 0; i < 6; i++) seen.push(sequenceNumber(send(rw, src, (startSeq + i) & 0xffff, i * 3000, (now += 33))!));
    }
    for (let i = 1; i < seen.length; i++) assert.equal(seqDelta(seen[i - 1]!, seen[i]!), 1, `step ${i}: ${seen.join(',')}`);
  });

  test('sourceSequenceNumber maps output sequence numbers back', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 65535, 0);
    assert.equal(rw.sourceSequenceNumber(65535), undefined, 'undefined before any packet');
    send(rw, 0x1111, 300, 0, 0);
    assert.equal(rw.sourceSequenceNumber(65535), 300);
    assert.equal(rw.sourceSequenceNumber(0), 301);
    assert.equal(rw.sourceSequenceNumber(65534), 299);
    for (let seq = 65530; seq !== 10; seq = (seq + 1) & 0xffff) {
      const p = send(rw, 0x1111, seq, 0, 1)!;
      assert.equal(rw.sourceSequenceNumber(sequenceNumber(p)), seq);
    }
  });

  test('sourceSequenceNumber follows the current source after a switch', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 100, 0);
    send(rw, 0x1111, 7, 0, 0);
    const p = send(rw, 0x2222, 65535, 0, 10)!;
    assert.equal(sequenceNumber(p), 101);
    assert.equal(rw.sourceSequenceNumber(101), 65535);
    assert.equal(rw.sourceSequenceNumber(102), 0);
  });
});

describe('readSourceHeader / restoreHeader', () => {
  test('reads every field a fan-out overwrites', () => {
    const p = rtp(0xfedcba98, 65535, 0xffffffff, 127, true);
    assert.deepEqual(header(p), { ssrc: 0xfedcba98, payloadType: 127, seq: 65535, ts: 0xffffffff });
  });

  test('restores a rewritten packet byte for byte, marker included', () => {
    const p = rtp(0x1234, 4321, 0x89abcdef, 96, true);
    const original = Buffer.from(p);
    const saved = header(p);
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 9, 9);
    assert.equal(rw.rewrite(p, saved, 0), true);
    assert.notDeepEqual(p, original);
    restoreHeader(p, saved);
    assert.deepEqual(p, original);
  });

  test('restore after two subscribers rewrote the same packet', () => {
    const p = rtp(0x1234, 4321, 0x89abcdef, 96, false);
    const original = Buffer.from(p);
    const saved = header(p);
    const a = new RtpRewriter(1, 101, VIDEO_CLOCK, 10, 10);
    const b = new RtpRewriter(2, 102, VIDEO_CLOCK, 20, 20);
    a.rewrite(p, saved, 0);
    assert.equal(sequenceNumber(p), 10);
    b.rewrite(p, saved, 0);
    assert.equal(sequenceNumber(p), 20);
    assert.equal(ssrc(p), 2);
    restoreHeader(p, saved);
    assert.deepEqual(p, original);
  });

  test('an older source that comes back within the straggler window is dropped, not switched to', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 0);
    send(rw, 0xa, 10, 0, 0);
    send(rw, 0xb, 500, 0, 100);
    send(rw, 0xc, 900, 0, 200);
    assert.equal(send(rw, 0xa, 11, 3000, 300), undefined, 'A after A→B→C is a straggler');
    assert.equal(rw.sourceSsrc, 0xc);
    assert.equal(sequenceNumber(send(rw, 0xc, 901, 3000, 320)!), 3);
  });

  test('a replaced source that returns after the straggler window is switched back to, continuously', () => {
    const rw = new RtpRewriter(OUT_SSRC, OUT_PT, VIDEO_CLOCK, 0, 0);
    send(rw, 0xa, 10, 0, 0);
    send(rw, 0xb, 500, 0, 100);
    const back = send(rw, 0xa, 4000, 9000, 2500);
    assert.ok(back, 'A is accepted again after 2 s');
    assert.equal(sequenceNumber(back), 2);
    assert.equal(rw.sourceSsrc, 0xa);
  });
});
