import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attributes, mediaDirection, parseSdp } from '../../media/sdp/sdp.js';
import { writeMLineStates } from '../../media/sdp/subscriber-offer.js';

/** A subscriber offer as libdatachannel writes it (shortened): data channels, one audio and one video m-line. */
const OFFER = [
  'v=0',
  'o=rtc 184018000 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 t0 t1',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=mid:0',
  'a=sendrecv',
  'a=sctp-port:5000',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:t0',
  'a=sendonly',
  'a=ssrc:1111 cname:slot',
  'a=ssrc:1111 msid:slot t0',
  'a=msid:slot t0',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=setup:actpass',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  'a=mid:t1',
  'a=sendonly',
  'a=ssrc:2222 cname:slot',
  'a=ssrc:2222 msid:slot t1',
  'a=msid:slot t1',
  'a=ssrc:3333 cname:slot',
  'a=ssrc-group:FID 2222 3333',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 RTX/90000',
  'a=fmtp:97 apt=96',
  '',
].join('\r\n');

describe('writeMLineStates', () => {
  const sdp = parseSdp(
    writeMLineStates(OFFER, [
      { mid: 't0', ssrc: 1111 },
      { mid: 't1', ssrc: 2222, rtxSsrc: 3333, carries: { streamId: 'PA_b', trackId: 'PA_b-t4', cname: 'PA_b' } },
    ]),
  );
  const [application, audio, video] = sdp.media;

  test('an m-line that carries nothing is inactive and names no track, but keeps its SSRC', () => {
    assert.equal(mediaDirection(audio!), 'inactive');
    assert.deepEqual(attributes(audio!.lines, 'msid'), []);
    assert.deepEqual(attributes(audio!.lines, 'ssrc'), ['1111 cname:shoal']);
    assert.equal(audio!.port, 9, 'not rejected: it can carry a track again');
    assert.ok(audio!.lines.includes('a=rtpmap:111 opus/48000/2'), 'codec lines stay');
  });

  test('an m-line that carries a track names it, with its SSRCs', () => {
    assert.equal(mediaDirection(video!), 'sendonly');
    assert.deepEqual(attributes(video!.lines, 'msid'), ['PA_b PA_b-t4']);
    assert.deepEqual(attributes(video!.lines, 'ssrc'), ['2222 cname:PA_b', '2222 msid:PA_b PA_b-t4', '3333 cname:PA_b']);
    assert.deepEqual(attributes(video!.lines, 'ssrc-group'), ['FID 2222 3333']);
    assert.equal(video!.lines.filter((l) => /^a=(sendonly|inactive|sendrecv|recvonly)$/.test(l)).length, 1);
  });

  test('m-lines not listed (the data channels) are left alone', () => {
    assert.deepEqual(application!.lines, ['a=mid:0', 'a=sendrecv', 'a=sctp-port:5000']);
    assert.deepEqual(sdp.session, parseSdp(OFFER).session);
  });
});
