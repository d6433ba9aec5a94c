import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CodecParameters } from '../../media/sdp/codecs.js';
import { PayloadTypeAllocator } from '../../media/transport/payload-types.js';

function codec(mimeType: string, payloadType: number, extra: Partial<CodecParameters> = {}): CodecParameters {
  return { mimeType, payloadType, clockRate: mimeType.startsWith('audio') ? 48000 : 90000, rtcpFeedback: [], ...extra };
}

const VP8 = codec('video/VP8', 96);
const VP9 = codec('video/VP9', 96, { fmtp: 'profile-id=0' });
const OPUS = codec('audio/opus', 111, { channels: 2, fmtp: 'minptime=10;useinbandfec=1' });

describe('PayloadTypeAllocator', () => {
  test("uses the publisher's payload type when it is free", () => {
    const a = new PayloadTypeAllocator();
    assert.equal(a.forCodec(VP8), 96);
    assert.equal(a.forCodec(OPUS), 111);
  });

  test('the same codec configuration gets the same payload type', () => {
    const a = new PayloadTypeAllocator();
    const first = a.forCodec(VP8);
    assert.equal(a.forCodec(VP8), first);
    // Another publisher numbering the same configuration differently shares it.
    assert.equal(a.forCodec({ ...VP8, payloadType: 120, rtcpFeedback: ['nack'] }), first);
    assert.equal(a.forCodec({ ...VP8, mimeType: 'video/vp8' }), first);
  });

  test('two codecs that both prefer 96 get different payload types', () => {
    const a = new PayloadTypeAllocator();
    const vp8 = a.forCodec(VP8);
    const vp9 = a.forCodec(VP9);
    assert.equal(vp8, 96);
    assert.notEqual(vp9, vp8);
    assert.equal(vp9, 97);
    assert.equal(a.forCodec(VP9), vp9);
  });

  test('the same codec with another fmtp is another configuration', () => {
    const a = new PayloadTypeAllocator();
    const p0 = a.forCodec(VP9);
    const p2 = a.forCodec({ ...VP9, fmtp: 'profile-id=2' });
    assert.notEqual(p0, p2);
  });

  test('RTX payload types are distinct from media and from each other, and stable', () => {
    const a = new PayloadTypeAllocator();
    const vp8 = a.forCodec(VP8);
    const vp9 = a.forCodec(VP9);
    const rtx8 = a.forRtx(VP8);
    const rtx9 = a.forRtx(VP9);
    assert.equal(new Set([vp8, vp9, rtx8, rtx9]).size, 4);
    assert.equal(a.forRtx(VP8), rtx8);
    assert.equal(a.forRtx(VP9), rtx9);
    assert.equal(a.forCodec(VP8), vp8);
  });

  test('RTX prefers the payload type after the codec', () => {
    const a = new PayloadTypeAllocator();
    a.forCodec(VP8);
    assert.equal(a.forRtx(VP8), 97);
  });

  test('RTX allocated first does not take the codec payload type', () => {
    const a = new PayloadTypeAllocator();
    const rtx = a.forRtx(VP8);
    const media = a.forCodec(VP8);
    assert.equal(rtx, 97);
    assert.equal(media, 96);
  });

  test('RTX of a codec at 127 falls back into the dynamic range', () => {
    const a = new PayloadTypeAllocator();
    assert.equal(a.forCodec(codec('video/AV1', 127)), 127);
    assert.equal(a.forRtx(codec('video/AV1', 127)), 96);
  });

  test('out-of-range preferred payload types fall back', () => {
    const a = new PayloadTypeAllocator();
    assert.equal(a.forCodec(codec('video/VP8', 128)), 96);
    assert.equal(a.forCodec(codec('video/VP9', -1)), 97);
  });

  test('static payload types are kept when preferred', () => {
    const a = new PayloadTypeAllocator();
    assert.equal(a.forCodec(codec('audio/PCMU', 0, { clockRate: 8000 })), 0);
  });

  test('after 96..127 it uses 35..63, then fails', () => {
    const a = new PayloadTypeAllocator();
    const pts: number[] = [];
    for (let i = 0; i < 61; i++) pts.push(a.forCodec(codec('video/VP8', 96, { fmtp: `x=${i}` })));
    assert.deepEqual(pts.slice(0, 32), Array.from({ length: 32 }, (_, i) => 96 + i));
    assert.deepEqual(pts.slice(32), Array.from({ length: 29 }, (_, i) => 35 + i));
    assert.throws(() => a.forCodec(codec('video/VP8', 96, { fmtp: 'x=61' })), /no payload type left/);
    // Known configurations still answer, and a free static one can still be had.
    assert.equal(a.forCodec(codec('video/VP8', 96, { fmtp: 'x=0' })), 96);
    assert.equal(a.forCodec(codec('audio/PCMU', 0, { clockRate: 8000 })), 0);
  });

  test('allocators are independent (one per connection)', () => {
    const a = new PayloadTypeAllocator();
    const b = new PayloadTypeAllocator();
    a.forCodec(VP8);
    assert.equal(b.forCodec(VP9), 96);
  });

  test('a publisher payload type in 64-95 (RTCP range on a muxed port) is not reused', () => {
    const alloc = new PayloadTypeAllocator();
    const pt = alloc.forCodec(codec('video/VP8', 72));
    assert.ok(pt < 64 || pt > 95, `got ${pt}`);
  });
});
