import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { marker, payloadOffset, payloadType, sequenceNumber, ssrc, timestamp } from '../../media/rtp/rtp-packet.js';
import { buildRtxPacket, rtxOriginalSequenceNumber, unwrapRtxPacket } from '../../media/rtp/rtx.js';

interface Options {
  seq?: number;
  marker?: boolean;
  csrcs?: number[];
  extension?: number[];
  payload?: number[];
  padding?: number;
}

function rtp(o: Options = {}): Buffer {
  const csrcs = o.csrcs ?? [];
  const ext = o.extension;
  const payload = o.payload ?? [1, 2, 3, 4, 5];
  const padding = o.padding ?? 0;
  const b = Buffer.alloc(12 + 4 * csrcs.length + (ext ? 4 + ext.length : 0) + payload.length + padding);
  b[0] = 0x80 | (padding ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  b[1] = (o.marker ? 0x80 : 0) | 96;
  b.writeUInt16BE(o.seq ?? 4660, 2);
  b.writeUInt32BE(0x11223344, 4);
  b.writeUInt32BE(0xaabbccdd, 8);
  let off = 12;
  for (const c of csrcs) off = b.writeUInt32BE(c, off);
  if (ext) {
    off = b.writeUInt16BE(0xbede, off);
    off = b.writeUInt16BE(ext.length / 4, off);
    off += Buffer.from(ext).copy(b, off);
  }
  off += Buffer.from(payload).copy(b, off);
  if (padding) b[b.length - 1] = padding;
  return b;
}

describe('buildRtxPacket', () => {
  test('RTX SSRC, payload type and sequence number; OSN in the first two payload bytes', () => {
    const original = rtp({ seq: 0xbeef, payload: [9, 8, 7] });
    const out = buildRtxPacket(original, 0x01020304, 97, 555);
    assert.equal(out.length, original.length + 2);
    assert.equal(ssrc(out), 0x01020304);
    assert.equal(payloadType(out), 97);
    assert.equal(sequenceNumber(out), 555);
    assert.equal(timestamp(out), 0x11223344, 'timestamp kept');
    assert.deepEqual([...out.subarray(12)], [0xbe, 0xef, 9, 8, 7]);
    assert.equal(rtxOriginalSequenceNumber(out), 0xbeef);
  });

  test('keeps the marker bit', () => {
    assert.equal(marker(buildRtxPacket(rtp({ marker: true }), 1, 97, 1)), true);
    assert.equal(marker(buildRtxPacket(rtp({ marker: false }), 1, 97, 1)), false);
  });

  test('does not modify the original', () => {
    const original = rtp({ padding: 4 });
    const copy = Buffer.from(original);
    buildRtxPacket(original, 1, 97, 1);
    assert.deepEqual(original, copy);
  });

  test('keeps the CSRC list and the header extension before the OSN', () => {
    const ext = [0x10, 0xaa, 0x22, 0xbb, 0xcc, 0, 0, 0];
    const original = rtp({ seq: 65535, csrcs: [0x0c0c0c0c], extension: ext, payload: [42, 43] });
    const out = buildRtxPacket(original, 7, 97, 0);
    const headerEnd = 12 + 4 + 4 + ext.length;
    assert.equal(payloadOffset(out), headerEnd);
    assert.equal(out[0]! & 0x1f, 0x10 | 1, 'X bit and CC kept');
    assert.deepEqual(out.subarray(12, headerEnd), original.subarray(12, headerEnd));
    assert.deepEqual([...out.subarray(headerEnd)], [0xff, 0xff, 42, 43]);
    assert.equal(rtxOriginalSequenceNumber(out), 65535);
  });

  test('removes padding and clears the P bit', () => {
    const original = rtp({ payload: [1, 2, 3], padding: 5 });
    assert.equal(original[0]! & 0x20, 0x20);
    const out = buildRtxPacket(original, 7, 97, 1);
    assert.equal(out[0]! & 0x20, 0);
    assert.equal(out.length, 12 + 2 + 3);
    assert.deepEqual([...out.subarray(12)], [0x12, 0x34, 1, 2, 3]);
  });

  test('a padding-only packet (probe) becomes just the OSN', () => {
    const original = rtp({ payload: [], padding: 8 });
    const out = buildRtxPacket(original, 7, 97, 1);
    assert.equal(out.length, 14);
    assert.equal(rtxOriginalSequenceNumber(out), 0x1234);
  });

  test('padding with an extension: only the payload between them survives', () => {
    const original = rtp({ extension: [0x10, 1, 0, 0], payload: [5, 6], padding: 2 });
    const out = buildRtxPacket(original, 7, 97, 1);
    assert.deepEqual([...out.subarray(payloadOffset(out))], [0x12, 0x34, 5, 6]);
  });

  test('a padding count larger than the packet leaves no payload, not a negative length', () => {
    const original = rtp({ payload: [1], padding: 1 });
    original[original.length - 1] = 200;
    const out = buildRtxPacket(original, 7, 97, 1);
    assert.equal(out.length, 14);
    assert.equal(rtxOriginalSequenceNumber(out), 0x1234);
  });
});

describe('rtxOriginalSequenceNumber', () => {
  test('reads the first two payload bytes', () => {
    const p = rtp({ payload: [0x00, 0x01, 0xff] });
    assert.equal(rtxOriginalSequenceNumber(p), 1);
  });

  test('after a CSRC list and extension', () => {
    const p = rtp({ csrcs: [1, 2], extension: [0, 0, 0, 0], payload: [0x80, 0x00] });
    assert.equal(rtxOriginalSequenceNumber(p), 0x8000);
  });

  test('-1 when the payload is shorter than two bytes, or the packet is truncated', () => {
    assert.equal(rtxOriginalSequenceNumber(rtp({ payload: [] })), -1);
    assert.equal(rtxOriginalSequenceNumber(rtp({ payload: [7] })), -1);
    assert.equal(rtxOriginalSequenceNumber(new Uint8Array(0)), -1);
    assert.equal(rtxOriginalSequenceNumber(Buffer.from([0x80, 97, 0, 1])), -1);
    const ext = rtp({ extension: [0, 0, 0, 0], payload: [1, 2] });
    assert.equal(rtxOriginalSequenceNumber(ext.subarray(0, 18)), -1);
  });
});

describe('unwrapRtxPacket', () => {
  const MEDIA_SSRC = 0x0a0b0c0d;

  test('gives back the original packet buildRtxPacket wrapped: header, extension, CSRCs, marker and payload', () => {
    const original = rtp({ seq: 0xfffe, marker: true, csrcs: [0x0c0c0c0c], extension: [0x10, 0xaa, 0, 0], payload: [7, 8, 9] });
    original.writeUInt32BE(MEDIA_SSRC, 8);
    const rtx = buildRtxPacket(original, 0x01020304, 97, 12);
    const out = unwrapRtxPacket(rtx, MEDIA_SSRC, 96);
    assert.ok(out);
    assert.deepEqual(out, original);
    assert.equal(marker(out), true);
    assert.equal(sequenceNumber(out), 0xfffe);
  });

  test('works in place: the original is a view of the RTX packet', () => {
    const rtx = buildRtxPacket(rtp({ seq: 5 }), 1, 97, 1);
    const out = unwrapRtxPacket(rtx, MEDIA_SSRC, 96)!;
    assert.equal(out.buffer, rtx.buffer);
    assert.equal(ssrc(out), MEDIA_SSRC);
    assert.equal(payloadType(out), 96);
  });

  test('keeps the padding of the RTX packet', () => {
    const rtx = buildRtxPacket(rtp({ seq: 5, payload: [1, 2] }), 1, 97, 1);
    const padded = Buffer.concat([rtx, Buffer.from([0, 0, 3])]);
    padded[0] = padded[0]! | 0x20;
    const out = unwrapRtxPacket(padded, MEDIA_SSRC, 96)!;
    assert.equal(out[0]! & 0x20, 0x20);
    assert.deepEqual([...out.subarray(12)], [1, 2, 0, 0, 3]);
  });

  test('undefined for a packet with no original sequence number: padding only, or too short', () => {
    const probe = rtp({ payload: [], padding: 8 });
    assert.equal(unwrapRtxPacket(probe, MEDIA_SSRC, 96), undefined);
    assert.equal(unwrapRtxPacket(rtp({ payload: [1] }), MEDIA_SSRC, 96), undefined);
    const huge = rtp({ payload: [1, 2, 3], padding: 1 });
    huge[huge.length - 1] = 250;
    assert.equal(unwrapRtxPacket(huge, MEDIA_SSRC, 96), undefined);
  });
});
