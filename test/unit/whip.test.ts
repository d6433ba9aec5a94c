import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { iceServerLinks, parseIceServers } from '../../control/whip/ice-servers.js';
import { parseSdpFragment, SdpFragmentError } from '../../control/whip/sdp-fragment.js';
import { candidateTransport } from '../../media/sdp/candidates.js';
import type { CodecParameters } from '../../media/sdp/codecs.js';
import { mediaMid, parseSdp, SdpError } from '../../media/sdp/sdp.js';
import { prepareViewerOffer, sameFormat } from '../../media/sdp/viewer-offer.js';

const FINGERPRINT = 'a=fingerprint:sha-256 3C:4A:AA:6E:5A:9C:1A:DD:A6:93:2F:75:95:4A:3B:6F:2C:83:51:D0:8C:4E:F0:0B:BA:44:6B:AF:7F:1D:8E:5A';

/** A WHEP offer as Chrome makes one: recvonly audio, recvonly video with VP8, H264 and their RTX. */
function viewerOffer(options: { videoDirection?: string; bundleOnlyVideo?: boolean } = {}): string {
  const transport = (mid: string) => ['c=IN IP4 0.0.0.0', 'a=ice-ufrag:Xq3v', 'a=ice-pwd:b0Yf8nF+Ow2XwZ6xQh5mT1uE', FINGERPRINT, 'a=setup:actpass', `a=mid:${mid}`];
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
    ...transport('0'),
    'a=recvonly',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000',
    'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
    `m=video ${options.bundleOnlyVideo ? 0 : 9} UDP/TLS/RTP/SAVPF 96 97 102 103`,
    ...transport('1'),
    ...(options.bundleOnlyVideo ? ['a=bundle-only'] : []),
    `a=${options.videoDirection ?? 'recvonly'}`,
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 nack',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'a=rtpmap:102 H264/90000',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'a=rtpmap:103 rtx/90000',
    'a=fmtp:103 apt=102',
    '',
  ].join('\r\n');
}

const h264: CodecParameters = { mimeType: 'video/H264', payloadType: 125, clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=640c1f', rtcpFeedback: [] };

describe('prepareViewerOffer', () => {
  test('every recvonly m-line gets the viewer\'s first forwarded codec, with its RTX; candidates are taken out', () => {
    const { sdp, mLines, candidates } = prepareViewerOffer(viewerOffer(), [], 64);
    assert.deepEqual(
      mLines.map((l) => [l.mid, l.kind, l.codec.mimeType, l.codec.payloadType, l.rtxPayloadType]),
      [
        ['0', 'audio', 'audio/opus', 111, undefined],
        ['1', 'video', 'video/VP8', 96, 97],
      ],
    );
    assert.deepEqual(candidates, [['candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', '0']]);
    assert.doesNotMatch(sdp, /a=candidate/);
  });

  test('the codec of the tracks there are to send comes first when the viewer offered it', () => {
    const video = prepareViewerOffer(viewerOffer(), [h264], 64).mLines[1]!;
    assert.equal(video.codec.mimeType, 'video/H264');
    assert.equal(video.codec.payloadType, 102, 'the viewer\'s payload type');
    assert.equal(video.rtxPayloadType, 103);
  });

  test('a sendonly m-line is rejected (port 0); a bundle-only one is kept; none left to send on is an error', () => {
    const rejected = prepareViewerOffer(viewerOffer({ videoDirection: 'sendonly' }), [], 64);
    assert.deepEqual(rejected.mLines.map((l) => l.mid), ['0']);
    assert.equal(parseSdp(rejected.sdp).media.find((m) => mediaMid(m) === '1')?.port, 0);
    assert.deepEqual(prepareViewerOffer(viewerOffer({ bundleOnlyVideo: true }), [], 64).mLines.map((l) => l.mid), ['0', '1']);
    const noneLeft = viewerOffer({ videoDirection: 'inactive' }).replace('a=recvonly', 'a=sendonly');
    assert.throws(() => prepareViewerOffer(noneLeft, [], 64), SdpError);
    assert.throws(() => prepareViewerOffer(viewerOffer(), [], 1), /at most 1/);
    assert.throws(() => prepareViewerOffer('v=0\r\n', [], 64), SdpError);
  });

  test('sameFormat: encoding, clock rate, channels and, for H.264, the packetization mode', () => {
    const vp8 = (payloadType: number): CodecParameters => ({ mimeType: 'video/VP8', payloadType, clockRate: 90000, rtcpFeedback: [] });
    assert.ok(sameFormat(vp8(96), vp8(120)));
    assert.ok(!sameFormat(vp8(96), h264));
    assert.ok(sameFormat(h264, { ...h264, payloadType: 102, fmtp: 'profile-level-id=42e01f;packetization-mode=1' }));
    assert.ok(!sameFormat(h264, { ...h264, fmtp: 'profile-level-id=42e01f' }));
    const opus: CodecParameters = { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, rtcpFeedback: [] };
    assert.ok(!sameFormat(opus, { ...opus, channels: 1 }));
  });
});

describe('SDP fragments (RFC 8840)', () => {
  test('credentials, candidates with the mid of their m= section, end-of-candidates', () => {
    const fragment = parseSdpFragment(
      'a=ice-options:trickle\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\na=candidate:2 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active\r\na=end-of-candidates\r\n',
      64,
    );
    assert.equal(fragment.ufrag, 'EsAw');
    assert.equal(fragment.pwd, 'P2uYro0UCOQ4zxjKXaWCBui1');
    assert.deepEqual(fragment.candidates.map((c) => [c.mid, candidateTransport(c.candidate)]), [['0', 'udp'], ['0', 'tcp']]);
    assert.ok(fragment.endOfCandidates);
    assert.deepEqual(parseSdpFragment('a=candidate:1 1 udp 1 192.0.2.1 1 typ host\n', 64).candidates[0]?.mid, undefined, 'before any m= section');
  });

  test('refused: lines that are not SDP, two different credentials, empty ones, too many candidates', () => {
    assert.throws(() => parseSdpFragment('hello\r\n', 64), SdpFragmentError);
    assert.throws(() => parseSdpFragment('a=ice-ufrag:a\r\na=ice-ufrag:b\r\n', 64), /two different/);
    assert.throws(() => parseSdpFragment('a=ice-pwd: \r\n', 64), /empty/);
    assert.throws(() => parseSdpFragment('a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n'.repeat(3), 2), /more than 2/);
    assert.deepEqual(parseSdpFragment('', 64), { candidates: [], endOfCandidates: false });
  });
});

describe('--ice-servers', () => {
  test('URIs with optional TURN credentials become one Link header', () => {
    const servers = parseIceServers(' stun:stun.example.net:3478 , turn:turn.example.net:3478?transport=udp;username=shoal;credential=s3cret ');
    assert.deepEqual(servers, [{ url: 'stun:stun.example.net:3478' }, { url: 'turn:turn.example.net:3478?transport=udp', username: 'shoal', credential: 's3cret' }]);
    assert.equal(
      iceServerLinks(servers),
      '<stun:stun.example.net:3478>; rel="ice-server", <turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="shoal"; credential="s3cret"; credential-type="password"',
    );
    assert.equal(iceServerLinks(parseIceServers('')), undefined);
  });

  test('refused: other schemes, unknown parameters, half credentials, quotes', () => {
    assert.throws(() => parseIceServers('http://example.net'), /not a stun/);
    assert.throws(() => parseIceServers('turn:t.example.net;password=x'), /only username/);
    assert.throws(() => parseIceServers('turn:t.example.net;username=x'), /both/);
    assert.throws(() => parseIceServers('turn:t.example.net;username=x;credential=a"b'), /printable/);
    assert.throws(() => parseIceServers('stun:<evil>'), /not a stun/);
  });
});
