import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isRtcp,
  isRtp,
  marker,
  payloadOffset,
  payloadType,
  RTP_HEADER_SIZE,
  seqDelta,
  seqNewer,
  sequenceNumber,
  setPayloadType,
  setSequenceNumber,
  setSsrc,
  setTimestamp,
  ssrc,
  timestamp,
} from '../../media/rtp/rtp-packet.js';

interface RtpOptions {
  pt?: number;
  seq?: number;
  ts?: number;
  ssrc?: number;
  marker?: boolean;
  csrcs?: number[];
  /** Header extension body, a multiple of 4 bytes. */
  extension?: Uint8Array;
  payload?: Uint8Array;
}

function rtp(o: RtpOptions = {}): Buffer {
  const csrcs = o.csrcs ?? [];
  const ext = o.extension;
  const payload = o.payload ?? Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  const b = Buffer.alloc(12 + 4 * csrcs.length + (ext ? 4 + ext.length : 0) + payload.length);
  b[0] = 0x80 | (ext ? 0x10 : 0) | csrcs.length;
  b[1] = (o.marker ? 0x80 : 0) | (o.pt ?? 96);
  b.writeUInt16BE(o.seq ?? 1000, 2);
  b.writeUInt32BE(o.ts ?? 123456, 4);
  b.writeUInt32BE(o.ssrc ?? 0x11223344, 8);
  let off = 12;
  for (const c of csrcs) {
    b.writeUInt32BE(c, off);
    off += 4;
  }
  if (ext) {
    b.writeUInt16BE(0xbede, off);
    b.writeUInt16BE(ext.length / 4, off + 2);
    Buffer.from(ext).copy(b, off + 4);
    off += 4 + ext.length;
  }
  Buffer.from(payload).copy(b, off);
  return b;
}

describe('isRtcp', () => {
  test('recognises RTCP packet types 192..223 in the second byte', () => {
    for (const pt of [192, 200, 201, 205, 206, 223]) {
      assert.equal(isRtcp(Buffer.from([0x80, pt, 0, 1, 0, 0, 0, 0])), true, `pt ${pt}`);
    }
  });

  test('rejects values just outside the RTCP range', () => {
    assert.equal(isRtcp(Buffer.from([0x80, 191, 0, 1, 0, 0, 0, 0])), false);
    assert.equal(isRtcp(Buffer.from([0x80, 224, 0, 1, 0, 0, 0, 0])), false);
  });

  test('RTP with PT 96 (with or without marker) is not RTCP', () => {
    assert.equal(isRtcp(rtp({ pt: 96 })), false);
    assert.equal(isRtcp(rtp({ pt: 96, marker: true })), false);
    assert.equal(isRtcp(rtp({ pt: 111, marker: true })), false);
  });

  test('packets shorter than 4 bytes are not RTCP', () => {
    assert.equal(isRtcp(new Uint8Array(0)), false);
    assert.equal(isRtcp(Buffer.from([0x80, 200, 0])), false);
    assert.equal(isRtcp(Buffer.from([0x80, 200, 0, 0])), true);
  });
});

describe('isRtp', () => {
  test('accepts a plain RTP packet', () => {
    assert.equal(isRtp(rtp()), true);
  });

  test('accepts a bare 12-byte header with no payload', () => {
    assert.equal(isRtp(rtp({ payload: new Uint8Array(0) })), true);
  });

  test('rejects empty and short input', () => {
    assert.equal(isRtp(new Uint8Array(0)), false);
    assert.equal(isRtp(rtp().subarray(0, 11)), false);
  });

  test('rejects versions other than 2', () => {
    for (const v of [0, 1, 3]) {
      const p = rtp();
      p[0] = (v << 6) | (p[0]! & 0x3f);
      assert.equal(isRtp(p), false, `version ${v}`);
    }
  });

  test('rejects RTCP', () => {
    const sr = Buffer.alloc(28);
    sr[0] = 0x80;
    sr[1] = 200;
    sr.writeUInt16BE(6, 2);
    assert.equal(isRtp(sr), false);
  });

  test('rejects a CSRC count pointing past the end', () => {
    const p = rtp({ payload: new Uint8Array(0) });
    p[0] = 0x80 | 2; // two CSRCs announced, none present
    assert.equal(isRtp(p), false);
  });

  test('rejects a header extension that runs past the end', () => {
    const p = rtp({ extension: new Uint8Array(8), payload: new Uint8Array(0) });
    assert.equal(isRtp(p), true);
    assert.equal(isRtp(p.subarray(0, p.length - 1)), false);
    // Extension bit set but not even the 4-byte extension header present.
    const bare = rtp({ payload: new Uint8Array(0) });
    bare[0] = bare[0]! | 0x10;
    assert.equal(isRtp(bare), false);
    // Extension length field claims more words than there are.
    const long = rtp({ extension: new Uint8Array(4), payload: new Uint8Array(0) });
    long.writeUInt16BE(5, 14);
    assert.equal(isRtp(long), false);
  });
});

describe('field getters', () => {
  const p = rtp({ pt: 111, seq: 0xabcd, ts: 0xfedcba98, ssrc: 0xcafebabe, marker: true });

  test('payloadType strips the marker bit', () => {
    assert.equal(payloadType(p), 111);
  });

  test('marker', () => {
    assert.equal(marker(p), true);
    assert.equal(marker(rtp({ marker: false })), false);
  });

  test('sequenceNumber is 16-bit big-endian', () => {
    assert.equal(sequenceNumber(p), 0xabcd);
    assert.equal(sequenceNumber(rtp({ seq: 0 })), 0);
    assert.equal(sequenceNumber(rtp({ seq: 65535 })), 65535);
  });

  test('timestamp and ssrc are unsigned 32-bit even with the top bit set', () => {
    assert.equal(timestamp(p), 0xfedcba98);
    assert.equal(ssrc(p), 0xcafebabe);
    assert.equal(timestamp(rtp({ ts: 0xffffffff })), 4294967295);
    assert.equal(ssrc(rtp({ ssrc: 0x80000000 })), 2147483648);
    assert.ok(timestamp(p) > 0);
  });
});

describe('field setters', () => {
  test('setPayloadType keeps the marker bit and masks to 7 bits', () => {
    const p = rtp({ pt: 96, marker: true });
    setPayloadType(p, 100);
    assert.equal(payloadType(p), 100);
    assert.equal(marker(p), true);
    setPayloadType(p, 0x80 | 35);
    assert.equal(payloadType(p), 35);
    assert.equal(p[1], 0x80 | 35);
    const q = rtp({ pt: 96, marker: false });
    setPayloadType(q, 127);
    assert.equal(q[1], 127);
    assert.equal(marker(q), false);
  });

  test('setSequenceNumber writes 16 bits and masks larger values', () => {
    const p = rtp();
    setSequenceNumber(p, 0x1234);
    assert.deepEqual([...p.subarray(2, 4)], [0x12, 0x34]);
    setSequenceNumber(p, 0x10005);
    assert.equal(sequenceNumber(p), 5);
  });

  test('setTimestamp and setSsrc round trip full 32-bit values', () => {
    const p = rtp();
    for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xdeadbeef]) {
      setTimestamp(p, v);
      assert.equal(timestamp(p), v);
      setSsrc(p, v);
      assert.equal(ssrc(p), v);
    }
    setTimestamp(p, 0x01020304);
    assert.deepEqual([...p.subarray(4, 8)], [1, 2, 3, 4]);
    setSsrc(p, 0x05060708);
    assert.deepEqual([...p.subarray(8, 12)], [5, 6, 7, 8]);
  });

  test('setters leave the other fields and the payload alone', () => {
    const p = rtp({ pt: 96, seq: 7, ts: 9, ssrc: 11, marker: true });
    const before = Buffer.from(p);
    setSequenceNumber(p, 8);
    setTimestamp(p, 10);
    setSsrc(p, 12);
    setPayloadType(p, 97);
    assert.equal(p[0], before[0]);
    assert.deepEqual(p.subarray(12), before.subarray(12));
    assert.equal(sequenceNumber(p), 8);
    assert.equal(timestamp(p), 10);
    assert.equal(ssrc(p), 12);
    assert.equal(payloadType(p), 97);
  });
});

describe('payloadOffset', () => {
  test('is 12 for a plain header', () => {
    assert.equal(payloadOffset(rtp()), RTP_HEADER_SIZE);
  });

  test('skips the CSRC list', () => {
    assert.equal(payloadOffset(rtp({ csrcs: [1, 2, 3] })), 24);
    assert.equal(payloadOffset(rtp({ csrcs: new Array<number>(15).fill(9) })), 12 + 60);
  });

  test('skips the header extension by its length in 32-bit words', () => {
    assert.equal(payloadOffset(rtp({ extension: new Uint8Array(8) })), 12 + 4 + 8);
    assert.equal(payloadOffset(rtp({ extension: new Uint8Array(0) })), 16);
  });

  test('skips CSRCs then the extension', () => {
    const p = rtp({ csrcs: [0xaaaaaaaa, 0xbbbbbbbb], extension: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) });
    const off = payloadOffset(p);
    assert.equal(off, 12 + 8 + 4 + 12);
    assert.deepEqual([...p.subarray(off)], [0xde, 0xad, 0xbe, 0xef]);
  });

  test('reports past the end when the extension header itself is missing', () => {
    const p = rtp({ payload: new Uint8Array(2) });
    p[0] = p[0]! | 0x10;
    assert.ok(payloadOffset(p) > p.length);
  });
});

describe('seqDelta / seqNewer', () => {
  test('seqDelta is the signed forward distance', () => {
    assert.equal(seqDelta(10, 15), 5);
    assert.equal(seqDelta(15, 10), -5);
    assert.equal(seqDelta(7, 7), 0);
  });

  test('seqDelta wraps around 16 bits', () => {
    assert.equal(seqDelta(65535, 0), 1);
    assert.equal(seqDelta(0, 65535), -1);
    assert.equal(seqDelta(65530, 5), 11);
    assert.equal(seqDelta(5, 65530), -11);
  });

  test('seqDelta at half the space', () => {
    assert.equal(seqDelta(0, 32767), 32767);
    assert.equal(seqDelta(0, 32768), -32768);
    assert.equal(seqDelta(0, 32769), -32767);
  });

  test('seqNewer follows serial number arithmetic', () => {
    assert.equal(seqNewer(11, 10), true);
    assert.equal(seqNewer(10, 11), false);
    assert.equal(seqNewer(10, 10), false);
    assert.equal(seqNewer(0, 65535), true);
    assert.equal(seqNewer(65535, 0), false);
    assert.equal(seqNewer(100, 65000), true);
    assert.equal(seqNewer(65000, 100), false);
    assert.equal(seqNewer(32767, 0), true);
    assert.equal(seqNewer(32768, 0), false);
  });
});
