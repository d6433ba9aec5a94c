import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseCodec, codecKey, encodingName, FORWARDED_CODECS, listCodecs, type CodecParameters } from '../../media/sdp/codecs.js';
import type { SdpMedia } from '../../media/sdp/sdp.js';

function media(kind: string, formats: string[], lines: string[]): SdpMedia {
  return { kind, port: 9, protocol: 'UDP/TLS/RTP/SAVPF', formats, lines };
}

const VIDEO = media(
  'video',
  ['96', '97', '98', '99', '102', '103', '45'],
  [
    'a=mid:1',
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 goog-remb',
    'a=rtcp-fb:96 transport-cc',
    'a=rtcp-fb:96 ccm fir',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'a=rtpmap:98 VP9/90000',
    'a=rtcp-fb:98 nack',
    'a=fmtp:98 profile-id=0',
    'a=rtpmap:99 rtx/90000',
    'a=fmtp:99 apt=98',
    'a=rtpmap:102 H264/90000',
    'a=rtcp-fb:102 nack pli',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
    'a=rtpmap:103 rtx/90000',
    'a=fmtp:103 apt=102',
    'a=rtpmap:45 AV1/90000',
    'a=rtcp-fb:* nack',
  ],
);

describe('listCodecs', () => {
  test('every payload type with rtpmap, fmtp and kept rtcp-fb, in m-line order', () => {
    const codecs = listCodecs(VIDEO);
    assert.deepEqual(
      codecs.map((c) => [c.payloadType, c.mimeType]),
      [
        [96, 'video/VP8'],
        [97, 'video/rtx'],
        [98, 'video/VP9'],
        [99, 'video/rtx'],
        [102, 'video/H264'],
        [103, 'video/rtx'],
        [45, 'video/AV1'],
      ],
    );
    assert.deepEqual(codecs[0], {
      mimeType: 'video/VP8',
      payloadType: 96,
      clockRate: 90000,
      rtcpFeedback: ['goog-remb', 'ccm fir', 'nack', 'nack pli'],
    });
    assert.equal(codecs[1]!.fmtp, 'apt=96');
    assert.equal(codecs[2]!.fmtp, 'profile-id=0');
    assert.deepEqual(codecs[2]!.rtcpFeedback, ['nack']);
    assert.equal(codecs[4]!.fmtp, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f');
    assert.deepEqual(codecs[6]!.rtcpFeedback, [], 'wildcard rtcp-fb is not attributed to a payload type');
  });

  test('m-line order, not rtpmap order', () => {
    const m = media('video', ['98', '96'], ['a=rtpmap:96 VP8/90000', 'a=rtpmap:98 VP9/90000']);
    assert.deepEqual(listCodecs(m).map((c) => c.payloadType), [98, 96]);
  });

  test('channels for audio', () => {
    const m = media('audio', ['111', '0'], ['a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:0 PCMU/8000']);
    assert.deepEqual(listCodecs(m), [
      { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', rtcpFeedback: [] },
      { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000, rtcpFeedback: [] },
    ]);
    assert.equal('channels' in listCodecs(m)[1]!, false);
  });

  test('drops transport-cc and unknown feedback, keeps nack, nack pli, ccm fir, goog-remb', () => {
    const m = media('video', ['96'], [
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 transport-cc',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack sli',
      'a=rtcp-fb:96 ccm tmmbr',
      'a=rtcp-fb:96 goog-remb',
    ]);
    assert.deepEqual(listCodecs(m)[0]!.rtcpFeedback, ['nack', 'goog-remb']);
  });

  test('skips formats without a usable rtpmap', () => {
    const m = media('video', ['96', '97', '98', '99'], [
      'a=rtpmap:96 VP8',
      'a=rtpmap:97 VP8/abc',
      'a=rtpmap:98 VP8/90000/1/2',
      'a=fmtp:99 apt=96',
      'a=rtcp-fb:99 nack',
    ]);
    assert.deepEqual(listCodecs(m), []);
  });

  test('ignores fmtp and rtcp-fb for payload types not on the m-line or without a value', () => {
    const m = media('video', ['96'], ['a=rtpmap:96 VP8/90000', 'a=fmtp:100 x=1', 'a=fmtp:96', 'a=rtcp-fb:96', 'a=rtcp-fb:100 nack']);
    assert.deepEqual(listCodecs(m), [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [] }]);
  });

  test('an m-line with no rtpmap at all', () => {
    assert.deepEqual(listCodecs(media('video', ['96'], [])), []);
    assert.deepEqual(listCodecs(media('video', [], ['a=rtpmap:96 VP8/90000'])), []);
  });
});

describe('chooseCodec', () => {
  test('the first forwarded codec in the offer order', () => {
    assert.equal(chooseCodec(VIDEO)!.payloadType, 96);
    const h264First = { ...VIDEO, formats: ['103', '102', '96', '98'] };
    assert.equal(chooseCodec(h264First)!.mimeType, 'video/H264', 'rtx before it is skipped');
    const vp9First = { ...VIDEO, formats: ['99', '98', '96'] };
    assert.equal(chooseCodec(vp9First)!.mimeType, 'video/VP9');
  });

  test('publisher order wins over the SFU preference list', () => {
    const av1First = { ...VIDEO, formats: ['45', '96'] };
    assert.equal(chooseCodec(av1First)!.mimeType, 'video/AV1');
  });

  test('encoding names are compared case-insensitively', () => {
    const m = media('video', ['100'], ['a=rtpmap:100 vp8/90000']);
    assert.equal(chooseCodec(m)!.payloadType, 100);
    const a = media('audio', ['111'], ['a=rtpmap:111 OPUS/48000/2']);
    assert.equal(chooseCodec(a)!.payloadType, 111);
  });

  test('audio: red and CN are skipped for opus', () => {
    const m = media('audio', ['63', '13', '111'], ['a=rtpmap:63 red/48000/2', 'a=rtpmap:13 CN/8000', 'a=rtpmap:111 opus/48000/2']);
    assert.equal(chooseCodec(m)!.mimeType, 'audio/opus');
  });

  test('undefined when nothing is forwardable', () => {
    const m = media('video', ['97', '106', '108'], ['a=rtpmap:97 rtx/90000', 'a=rtpmap:106 red/90000', 'a=rtpmap:108 ulpfec/90000']);
    assert.equal(chooseCodec(m), undefined);
    assert.equal(chooseCodec(media('audio', ['126'], ['a=rtpmap:126 telephone-event/8000'])), undefined);
  });

  test('a video codec on an audio m-line is not forwarded', () => {
    assert.equal(chooseCodec(media('audio', ['96'], ['a=rtpmap:96 VP8/90000'])), undefined);
  });

  test('undefined for non-RTP m-lines', () => {
    assert.equal(chooseCodec(media('application', ['webrtc-datachannel'], [])), undefined);
    assert.equal(chooseCodec(media('text', ['96'], ['a=rtpmap:96 VP8/90000'])), undefined);
  });
});

describe('encodingName / codecKey / FORWARDED_CODECS', () => {
  const vp8: CodecParameters = { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: ['nack'] };

  test('encodingName', () => {
    assert.equal(encodingName(vp8), 'VP8');
    assert.equal(encodingName({ ...vp8, mimeType: 'audio/opus' }), 'opus');
  });

  test('codecKey ignores payload type and feedback, and the case of the MIME type', () => {
    assert.equal(codecKey(vp8), codecKey({ ...vp8, payloadType: 120, rtcpFeedback: [] }));
    assert.equal(codecKey(vp8), codecKey({ ...vp8, mimeType: 'video/vp8' }));
  });

  test('codecKey differs by MIME type, clock rate, channels and fmtp', () => {
    const keys = new Set([
      codecKey(vp8),
      codecKey({ ...vp8, mimeType: 'video/VP9' }),
      codecKey({ ...vp8, clockRate: 48000 }),
      codecKey({ ...vp8, channels: 2 }),
      codecKey({ ...vp8, fmtp: 'profile-id=0' }),
      codecKey({ ...vp8, fmtp: 'profile-id=2' }),
      codecKey({ ...vp8, mimeType: 'audio/VP8' }),
    ]);
    assert.equal(keys.size, 7);
  });

  test('forwarded codecs', () => {
    assert.deepEqual([...FORWARDED_CODECS.audio], ['opus', 'pcmu', 'pcma', 'g722']);
    assert.deepEqual([...FORWARDED_CODECS.video], ['vp8', 'vp9', 'h264', 'av1', 'h265']);
  });
});
