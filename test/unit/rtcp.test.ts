import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildFir,
  buildNack,
  buildPli,
  buildReceiverReport,
  buildRemb,
  forEachRtcpPacket,
  MAX_NACK_FCIS,
  parseFeedback,
  parseRembBitrate,
  RTCP_PSFB,
  RTCP_RR,
  RTCP_RTPFB,
  RTCP_SR,
} from '../../media/rtp/rtcp.js';

/** One RTCP packet with the given header fields and body (after the 4-byte header). */
function rtcp(countOrFmt: number, pt: number, body: number[]): Buffer {
  assert.equal(body.length % 4, 0);
  const b = Buffer.alloc(4 + body.length);
  b[0] = 0x80 | countOrFmt;
  b[1] = pt;
  b.writeUInt16BE(body.length / 4, 2);
  Buffer.from(body).copy(b, 4);
  return b;
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

function senderReport(ssrc: number): Buffer {
  return rtcp(0, RTCP_SR, [...u32(ssrc), ...new Array<number>(20).fill(0)]);
}

/** Checks the common RTCP header: version 2, no padding, length field matching the size. */
function assertHeader(b: Buffer, fmt: number, pt: number): void {
  assert.equal(b[0]! >> 6, 2, 'version');
  assert.equal(b[0]! & 0x20, 0, 'padding');
  assert.equal(b[0]! & 0x1f, fmt, 'fmt');
  assert.equal(b[1], pt, 'packet type');
  assert.equal(b.readUInt16BE(2), b.length / 4 - 1, 'length field');
}

describe('forEachRtcpPacket', () => {
  test('visits each packet of a compound packet with its bounds', () => {
    const sr = senderReport(1);
    const pli = buildPli(2, 3);
    const seen: Array<[number, number, number, number]> = [];
    forEachRtcpPacket(Buffer.concat([sr, pli]), (pt, fmt, start, end) => seen.push([pt, fmt, start, end]));
    assert.deepEqual(seen, [
      [RTCP_SR, 0, 0, 28],
      [RTCP_PSFB, 1, 28, 40],
    ]);
  });

  test('visits nothing in empty input', () => {
    let calls = 0;
    forEachRtcpPacket(new Uint8Array(0), () => calls++);
    forEachRtcpPacket(Buffer.from([0x80, 200, 0]), () => calls++);
    assert.equal(calls, 0);
  });

  test('stops at a packet whose length runs past the end', () => {
    const pli = buildPli(2, 3);
    const truncated = buildPli(4, 5).subarray(0, 8);
    const seen: number[] = [];
    forEachRtcpPacket(Buffer.concat([pli, truncated]), (_pt, _fmt, start) => seen.push(start));
    assert.deepEqual(seen, [0]);
  });

  test('stops at a packet with a version other than 2', () => {
    const bad = buildPli(4, 5);
    bad[0] = (bad[0]! & 0x3f) | 0x40; // version 1
    const seen: number[] = [];
    forEachRtcpPacket(Buffer.concat([buildPli(1, 2), bad, buildPli(6, 7)]), (_pt, _fmt, start) => seen.push(start));
    assert.deepEqual(seen, [0]);
  });
});

describe('parseFeedback', () => {
  test('PLI', () => {
    const pli = rtcp(1, RTCP_PSFB, [...u32(0x01020304), ...u32(0xaabbccdd)]);
    assert.deepEqual(parseFeedback(pli), { keyframe: [0xaabbccdd], nacks: [] });
  });

  test('FIR reads the SSRC of every FCI entry, not the media SSRC field', () => {
    const fir = rtcp(4, RTCP_PSFB, [...u32(1), ...u32(0), ...u32(0x11111111), 7, 0, 0, 0, ...u32(0x22222222), 8, 0, 0, 0]);
    assert.deepEqual(parseFeedback(fir), { keyframe: [0x11111111, 0x22222222], nacks: [] });
  });

  test('FIR ignores a partial FCI entry at the end', () => {
    const fir = rtcp(4, RTCP_PSFB, [...u32(1), ...u32(0), ...u32(0x11111111), 7, 0, 0, 0, ...u32(0x22222222)]);
    assert.deepEqual(parseFeedback(fir), { keyframe: [0x11111111], nacks: [] });
  });

  test('NACK with PID only', () => {
    const nack = rtcp(1, RTCP_RTPFB, [...u32(1), ...u32(0x5555), ...u16(1000), ...u16(0)]);
    assert.deepEqual(parseFeedback(nack), { keyframe: [], nacks: [{ ssrc: 0x5555, seqs: [1000] }] });
  });

  test('NACK BLP bits add PID+1..PID+16', () => {
    const blp = (1 << 0) | (1 << 2) | (1 << 15); // PID+1, PID+3, PID+16
    const nack = rtcp(1, RTCP_RTPFB, [...u32(1), ...u32(9), ...u16(1000), ...u16(blp)]);
    assert.deepEqual(parseFeedback(nack).nacks, [{ ssrc: 9, seqs: [1000, 1001, 1003, 1016] }]);
  });

  test('NACK with all BLP bits set', () => {
    const nack = rtcp(1, RTCP_RTPFB, [...u32(1), ...u32(9), ...u16(50), ...u16(0xffff)]);
    assert.deepEqual(parseFeedback(nack).nacks[0]!.seqs, Array.from({ length: 17 }, (_, i) => 50 + i));
  });

  test('NACK BLP wraps around 65535', () => {
    const nack = rtcp(1, RTCP_RTPFB, [...u32(1), ...u32(9), ...u16(65534), ...u16(0b1011)]);
    assert.deepEqual(parseFeedback(nack).nacks[0]!.seqs, [65534, 65535, 0, 2]);
  });

  test('NACK with several FCI entries', () => {
    const nack = rtcp(1, RTCP_RTPFB, [...u32(1), ...u32(9), ...u16(10), ...u16(1), ...u16(500), ...u16(0)]);
    assert.deepEqual(parseFeedback(nack).nacks, [{ ssrc: 9, seqs: [10, 11, 500] }]);
  });

  test('NACK with no FCI entry yields nothing', () => {
    const nack = rtcp(1, RTCP_RTPFB, [...u32(1), ...u32(9)]);
    assert.deepEqual(parseFeedback(nack), { keyframe: [], nacks: [] });
  });

  test('compound packet: SR, RR, PLI, NACK, FIR in one buffer', () => {
    const compound = Buffer.concat([
      senderReport(1),
      buildReceiverReport(1, []),
      buildPli(1, 0x1000),
      buildNack(1, 0x2000, [5, 6]),
      buildFir(1, 0x3000, 1),
    ]);
    assert.deepEqual(parseFeedback(compound), {
      keyframe: [0x1000, 0x3000],
      nacks: [{ ssrc: 0x2000, seqs: [5, 6] }],
    });
  });

  test('NACKs for two SSRCs stay separate', () => {
    const compound = Buffer.concat([buildNack(1, 0xa, [1]), buildNack(1, 0xb, [2, 3])]);
    assert.deepEqual(parseFeedback(compound).nacks, [
      { ssrc: 0xa, seqs: [1] },
      { ssrc: 0xb, seqs: [2, 3] },
    ]);
  });

  test('ignores other feedback types (transport-cc, REMB, SR/RR)', () => {
    const transportCc = rtcp(15, RTCP_RTPFB, [...u32(1), ...u32(2), ...u16(0), ...u16(1)]);
    const remb = buildRemb(1, 1_000_000, [2]);
    assert.deepEqual(parseFeedback(Buffer.concat([senderReport(1), transportCc, remb])), { keyframe: [], nacks: [] });
  });

  test('a truncated last packet is dropped, the packets before it are kept', () => {
    const compound = Buffer.concat([buildPli(1, 0x1000), buildNack(1, 0x2000, [5])]);
    assert.deepEqual(parseFeedback(compound.subarray(0, compound.length - 2)), { keyframe: [0x1000], nacks: [] });
    assert.deepEqual(parseFeedback(buildPli(1, 2).subarray(0, 11)), { keyframe: [], nacks: [] });
  });

  test('a PLI shorter than 12 bytes (by its own length field) is skipped', () => {
    const tiny = rtcp(1, RTCP_PSFB, u32(1));
    assert.deepEqual(parseFeedback(Buffer.concat([tiny, buildPli(1, 7)])), { keyframe: [7], nacks: [] });
  });

  test('empty and garbage input yield no feedback', () => {
    assert.deepEqual(parseFeedback(new Uint8Array(0)), { keyframe: [], nacks: [] });
    assert.deepEqual(parseFeedback(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])), { keyframe: [], nacks: [] });
    assert.deepEqual(parseFeedback(Buffer.from([0x00, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2])), { keyframe: [], nacks: [] });
  });
});

describe('buildReceiverReport', () => {
  test('an RR with an empty report block per SSRC', () => {
    const b = buildReceiverReport(0x11, [0x22, 0x33]);
    assert.equal(b.length, 8 + 2 * 24);
    assertHeader(b, 2, RTCP_RR);
    assert.equal(b.readUInt32BE(4), 0x11);
    assert.deepEqual([b.readUInt32BE(8), b.readUInt32BE(32)], [0x22, 0x33]);
    assert.ok(b.subarray(12, 32).every((x) => x === 0) && b.subarray(36).every((x) => x === 0));
  });
});

describe('buildPli', () => {
  test('layout and round trip', () => {
    const b = buildPli(0x01020304, 0xfffffffe);
    assert.equal(b.length, 12);
    assertHeader(b, 1, RTCP_PSFB);
    assert.equal(b.readUInt32BE(4), 0x01020304);
    assert.equal(b.readUInt32BE(8), 0xfffffffe);
    assert.deepEqual(parseFeedback(b), { keyframe: [0xfffffffe], nacks: [] });
  });
});

describe('buildFir', () => {
  test('layout and round trip', () => {
    const b = buildFir(0x01020304, 0x80000001, 0x1ff);
    assert.equal(b.length, 20);
    assertHeader(b, 4, RTCP_PSFB);
    assert.equal(b.readUInt32BE(4), 0x01020304);
    assert.equal(b.readUInt32BE(8), 0, 'media source SSRC is 0 in a FIR (RFC 5104 4.3.1.2)');
    assert.equal(b.readUInt32BE(12), 0x80000001);
    assert.equal(b[16], 0xff, 'command sequence number is 8 bits');
    assert.deepEqual([...b.subarray(17, 20)], [0, 0, 0]);
    assert.deepEqual(parseFeedback(b), { keyframe: [0x80000001], nacks: [] });
  });
});

describe('buildNack', () => {
  function fci(b: Buffer): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let o = 12; o < b.length; o += 4) out.push([b.readUInt16BE(o), b.readUInt16BE(o + 2)]);
    return out;
  }

  test('layout of a single sequence number', () => {
    const b = buildNack(0x0a0b0c0d, 0x01020304, [1234]);
    assertHeader(b, 1, RTCP_RTPFB);
    assert.equal(b.length, 16);
    assert.equal(b.readUInt32BE(4), 0x0a0b0c0d);
    assert.equal(b.readUInt32BE(8), 0x01020304);
    assert.deepEqual(fci(b), [[1234, 0]]);
  });

  test('packs sequence numbers within 16 of a PID into its BLP', () => {
    const b = buildNack(1, 2, [100, 101, 103, 116]);
    assert.deepEqual(fci(b), [[100, (1 << 0) | (1 << 2) | (1 << 15)]]);
    assert.deepEqual(parseFeedback(b).nacks, [{ ssrc: 2, seqs: [100, 101, 103, 116] }]);
  });

  test('starts a new entry at PID + 17', () => {
    const b = buildNack(1, 2, [100, 117]);
    assert.deepEqual(fci(b), [
      [100, 0],
      [117, 0],
    ]);
  });

  test('17 consecutive sequence numbers fit one entry, 18 need two', () => {
    const seventeen = Array.from({ length: 17 }, (_, i) => 200 + i);
    assert.deepEqual(fci(buildNack(1, 2, seventeen)), [[200, 0xffff]]);
    assert.deepEqual(fci(buildNack(1, 2, [...seventeen, 217])), [
      [200, 0xffff],
      [217, 0],
    ]);
  });

  test('sorts and removes duplicates', () => {
    const b = buildNack(1, 2, [105, 100, 105, 101, 100]);
    assert.deepEqual(fci(b), [[100, (1 << 0) | (1 << 4)]]);
    assert.deepEqual(parseFeedback(b).nacks[0]!.seqs, [100, 101, 105]);
  });

  test('packs across the 16-bit wrap into one entry', () => {
    const b = buildNack(1, 2, [0, 65534, 1, 65535]);
    assert.deepEqual(fci(b), [[65534, 0b111]]);
    assert.deepEqual(parseFeedback(b).nacks[0]!.seqs, [65534, 65535, 0, 1]);
  });

  test('a run ending exactly at the wrap and a far away number', () => {
    const b = buildNack(1, 2, [65530, 65535, 30000]);
    assert.deepEqual(fci(b), [
      [65530, 1 << 4],
      [30000, 0],
    ]);
    assert.deepEqual(new Set(parseFeedback(b).nacks[0]!.seqs), new Set([65530, 65535, 30000]));
  });

  test('PID 65535 with 0..15 in its BLP', () => {
    const seqs = [65535, ...Array.from({ length: 16 }, (_, i) => i)];
    const b = buildNack(1, 2, seqs);
    assert.deepEqual(fci(b), [[65535, 0xffff]]);
    assert.deepEqual(parseFeedback(b).nacks[0]!.seqs, seqs);
  });

  test(`at most ${'$'}{MAX_NACK_FCIS} FCIs of one compound packet are read`, () => {
    const fcis = Array.from({ length: 250 }, (_, i) => 20 * i);
    const nack = buildNack(1, 2, fcis);
    const seqs = parseFeedback(Buffer.concat([nack, buildNack(1, 3, [5])])).nacks.flatMap((n) => n.seqs);
    assert.deepEqual(seqs, fcis.slice(0, MAX_NACK_FCIS));
  });

  test('every requested sequence number comes back, and nothing else', () => {
    const seqs = [3, 4, 20, 21, 22, 40, 1000, 1016, 1017, 65520, 65535];
    assert.deepEqual(new Set(parseFeedback(buildNack(1, 2, seqs)).nacks[0]!.seqs), new Set(seqs));
  });
});

describe('buildRemb / parseRembBitrate', () => {
  test('a bitrate that is not finite is encoded as the largest value, without hanging', () => {
    const remb = buildRemb(1, Infinity, [2]);
    assert.equal(parseRembBitrate(remb), 0x3ffff * 2 ** 63);
  });

  test('layout', () => {
    const b = buildRemb(0x01020304, 3_000_000, [0xaaaaaaaa, 0xbbbbbbbb]);
    assertHeader(b, 15, RTCP_PSFB);
    assert.equal(b.length, 28);
    assert.equal(b.readUInt32BE(4), 0x01020304);
    assert.equal(b.readUInt32BE(8), 0, 'media source SSRC is 0');
    assert.equal(b.toString('ascii', 12, 16), 'REMB');
    assert.equal(b[16], 2, 'number of SSRCs');
    // 3,000,000 = 187500 * 2^4
    assert.equal(b[17]! >> 2, 4);
    assert.equal(((b[17]! & 3) << 16) | b.readUInt16BE(18), 187500);
    assert.equal(b.readUInt32BE(20), 0xaaaaaaaa);
    assert.equal(b.readUInt32BE(24), 0xbbbbbbbb);
  });

  test('round trips exactly representable bitrates', () => {
    for (const bitrate of [0, 1, 30_000, 262_143, 262_144, 500_000, 3_000_000, 2 ** 30]) {
      assert.equal(parseRembBitrate(buildRemb(1, bitrate, [2])), bitrate, `bitrate ${bitrate}`);
    }
  });

  test('rounds other bitrates down by less than one part in 2^17', () => {
    for (const bitrate of [1_000_001, 2_345_678, 123_456_789]) {
      const parsed = parseRembBitrate(buildRemb(1, bitrate, [2]))!;
      assert.ok(parsed <= bitrate, `${parsed} <= ${bitrate}`);
      assert.ok(parsed > bitrate * (1 - 2 ** -17), `${parsed} close to ${bitrate}`);
    }
  });

  test('fractional and negative bitrates', () => {
    assert.equal(parseRembBitrate(buildRemb(1, 1234.9, [2])), 1234);
    assert.equal(parseRembBitrate(buildRemb(1, -5, [2])), 0);
  });

  test('a REMB with no SSRC', () => {
    const b = buildRemb(1, 100_000, []);
    assert.equal(b.length, 20);
    assert.equal(b[16], 0);
    assert.equal(parseRembBitrate(b), 100_000);
  });

  test('found inside a compound packet', () => {
    const compound = Buffer.concat([buildReceiverReport(1, []), buildPli(1, 2), buildRemb(1, 750_000, [2])]);
    assert.equal(parseRembBitrate(compound), 750_000);
  });

  test('undefined when there is no REMB', () => {
    assert.equal(parseRembBitrate(new Uint8Array(0)), undefined);
    assert.equal(parseRembBitrate(buildPli(1, 2)), undefined);
    assert.equal(parseRembBitrate(buildReceiverReport(1, [])), undefined);
  });

  test('an AFB packet without the REMB identifier is not a REMB', () => {
    const b = buildRemb(1, 100_000, [2]);
    b.write('ABCD', 12, 'ascii');
    assert.equal(parseRembBitrate(b), undefined);
  });

  test('a truncated REMB is not read', () => {
    const b = buildRemb(1, 100_000, [2]);
    assert.equal(parseRembBitrate(b.subarray(0, b.length - 1)), undefined);
    const short = rtcp(15, RTCP_PSFB, [...u32(1), ...u32(0), ...Buffer.from('REMB')]);
    assert.equal(parseRembBitrate(short), undefined);
  });
});
