import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { preparePublisherOffer } from '../../media/sdp/publisher-offer.js';
import { attributes, mediaMid, parseSdp, SdpError, type SdpMedia } from '../../media/sdp/sdp.js';

const TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const FINGERPRINT =
  'a=fingerprint:sha-256 3C:4A:AA:6E:5A:9C:1A:DD:A6:93:2F:75:95:4A:3B:6F:2C:83:51:D0:8C:4E:F0:0B:BA:44:6B:AF:7F:1D:8E:5A';

function transport(mid: string): string[] {
  return [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:Xq3v',
    'a=ice-pwd:b0Yf8nF+Ow2XwZ6xQh5mT1uE',
    'a=ice-options:trickle',
    FINGERPRINT,
    'a=setup:actpass',
    `a=mid:${mid}`,
  ];
}

const VIDEO_CODECS = [
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000',
  'a=rtcp-fb:98 goog-remb',
  'a=rtcp-fb:98 transport-cc',
  'a=rtcp-fb:98 ccm fir',
  'a=rtcp-fb:98 nack',
  'a=rtcp-fb:98 nack pli',
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:99 rtx/90000',
  'a=fmtp:99 apt=98',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 goog-remb',
  'a=rtcp-fb:102 transport-cc',
  'a=rtcp-fb:102 ccm fir',
  'a=rtcp-fb:102 nack',
  'a=rtcp-fb:102 nack pli',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=rtpmap:106 red/90000',
  'a=rtpmap:107 rtx/90000',
  'a=fmtp:107 apt=106',
  'a=rtpmap:108 ulpfec/90000',
];

const VIDEO_EXTMAPS = [
  'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:13 urn:3gpp:video-orientation',
  `a=extmap:3 ${TRANSPORT_CC}`,
  'a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
];

/** A Chrome-style publisher offer: audio, video with RTX, simulcast video, data channel. */
function chromeOffer(): string[] {
  return [
    'v=0',
    'o=- 8122955813224586411 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1 2 3',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS stream',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    ...transport('0'),
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    `a=extmap:3 ${TRANSPORT_CC}`,
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendonly',
    'a=msid:stream mic',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
    'a=ssrc:1001 cname:Zr1mJ5nKp2',
    'a=ssrc:1001 msid:stream mic',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 106 107 108',
    ...transport('1'),
    ...VIDEO_EXTMAPS,
    'a=sendonly',
    'a=msid:stream cam',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    ...VIDEO_CODECS,
    'a=ssrc-group:FID 2001 2002',
    'a=ssrc:2001 cname:Zr1mJ5nKp2',
    'a=ssrc:2001 msid:stream cam',
    'a=ssrc:2002 cname:Zr1mJ5nKp2',
    'a=ssrc:2002 msid:stream cam',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 106 107 108',
    ...transport('2'),
    ...VIDEO_EXTMAPS,
    'a=sendonly',
    'a=msid:stream screen',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    ...VIDEO_CODECS,
    'a=rid:q send',
    'a=rid:h send',
    'a=rid:f send',
    'a=simulcast:send q;h;f',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:Xq3v',
    'a=ice-pwd:b0Yf8nF+Ow2XwZ6xQh5mT1uE',
    'a=ice-options:trickle',
    FINGERPRINT,
    'a=setup:actpass',
    'a=mid:3',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ];
}

const text = (lines: string[]) => lines.join('\r\n') + '\r\n';

function byMid(sdp: string, mid: string): SdpMedia {
  const m = parseSdp(sdp).media.find((x) => mediaMid(x) === mid);
  assert.ok(m, `m-line ${mid}`);
  return m;
}

/** Replaces the formats of the m-line with the given mid. */
function withFormats(lines: string[], mid: string, formats: string): string[] {
  const midAt = lines.indexOf(`a=mid:${mid}`);
  let mAt = midAt;
  while (!lines[mAt]!.startsWith('m=')) mAt--;
  const out = [...lines];
  out[mAt] = out[mAt]!.split(' ').slice(0, 3).join(' ') + ' ' + formats;
  return out;
}

function setDirection(lines: string[], mid: string, direction: string): string[] {
  const midAt = lines.indexOf(`a=mid:${mid}`);
  const out = [...lines];
  const at = out.findIndex((l, i) => i > midAt && /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l));
  out[at] = `a=${direction}`;
  return out;
}

describe('preparePublisherOffer on a Chrome offer', () => {
  const { sdp, tracks } = preparePublisherOffer(text(chromeOffer()));
  const parsed = parseSdp(sdp);

  test('keeps the session part and every m-line, in order', () => {
    assert.deepEqual(parsed.session, chromeOffer().slice(0, 7));
    assert.deepEqual(parsed.media.map((m) => [m.kind, mediaMid(m)]), [
      ['audio', '0'],
      ['video', '1'],
      ['video', '2'],
      ['application', '3'],
    ]);
    assert.ok(sdp.endsWith('\r\n'));
  });

  test('one track per audio/video m-line with the chosen codec', () => {
    assert.deepEqual(tracks, [
      {
        mid: '0',
        kind: 'audio',
        codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', rtcpFeedback: [] },
        ssrc: 1001,
      },
      {
        mid: '1',
        kind: 'video',
        codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: ['goog-remb', 'ccm fir', 'nack', 'nack pli'] },
        ssrc: 2001,
        rtx: { payloadType: 97, ssrc: 2002 },
      },
      {
        mid: '2',
        kind: 'video',
        codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: ['goog-remb', 'ccm fir', 'nack', 'nack pli'] },
      },
    ]);
    assert.equal('ssrc' in tracks[2]!, false, 'rid simulcast signals no SSRC');
  });

  test('exactly one codec per m-line (and its RTX where the RTX SSRC is signalled): formats, rtpmap and fmtp', () => {
    for (const [mid, pt] of [
      ['0', '111'],
      ['2', '96'],
    ] as const) {
      const m = byMid(sdp, mid);
      assert.deepEqual(m.formats, [pt], `mid ${mid}`);
      const rtpmaps = attributes(m.lines, 'rtpmap');
      assert.equal(rtpmaps.length, 1, `mid ${mid}: ${rtpmaps.join(' | ')}`);
      assert.ok(rtpmaps[0]!.startsWith(`${pt} `));
      for (const fmtp of attributes(m.lines, 'fmtp')) assert.ok(fmtp.startsWith(`${pt} `), `mid ${mid}: fmtp ${fmtp}`);
      for (const fb of attributes(m.lines, 'rtcp-fb')) assert.ok(fb.startsWith(`${pt} `), `mid ${mid}: rtcp-fb ${fb}`);
    }
    assert.deepEqual(attributes(byMid(sdp, '0').lines, 'fmtp'), ['111 minptime=10;useinbandfec=1']);
    const video = byMid(sdp, '1');
    assert.deepEqual(video.formats, ['96', '97']);
    assert.deepEqual(attributes(video.lines, 'rtpmap'), ['96 VP8/90000', '97 rtx/90000']);
    assert.deepEqual(attributes(video.lines, 'fmtp'), ['97 apt=96']);
  });

  test('transport-cc extmap and rtcp-fb lines are removed', () => {
    assert.ok(!sdp.includes('transport-cc'), 'no rtcp-fb transport-cc');
    assert.ok(!sdp.includes(TRANSPORT_CC), 'no transport-cc extmap');
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'rtcp-fb'), ['96 goog-remb', '96 ccm fir', '96 nack', '96 nack pli']);
    assert.deepEqual(attributes(byMid(sdp, '0').lines, 'rtcp-fb'), []);
  });

  test('other header extensions stay, rid extensions go', () => {
    assert.deepEqual(attributes(byMid(sdp, '0').lines, 'extmap'), [
      '1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      '2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      '4 urn:ietf:params:rtp-hdrext:sdes:mid',
    ]);
    for (const mid of ['1', '2']) {
      assert.deepEqual(attributes(byMid(sdp, mid).lines, 'extmap'), [
        '14 urn:ietf:params:rtp-hdrext:toffset',
        '2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
        '13 urn:3gpp:video-orientation',
        '5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
        '4 urn:ietf:params:rtp-hdrext:sdes:mid',
      ]);
    }
  });

  test('rid, simulcast and ssrc-group lines are removed', () => {
    assert.ok(!/^a=(rid|simulcast|ssrc-group):/m.test(sdp));
  });

  test("only the a=ssrc lines of the primary SSRC and its kept RTX SSRC remain", () => {
    assert.deepEqual(attributes(byMid(sdp, '0').lines, 'ssrc'), ['1001 cname:Zr1mJ5nKp2', '1001 msid:stream mic']);
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'ssrc'), [
      '2001 cname:Zr1mJ5nKp2',
      '2001 msid:stream cam',
      '2002 cname:Zr1mJ5nKp2',
      '2002 msid:stream cam',
    ]);
    assert.deepEqual(attributes(byMid(sdp, '2').lines, 'ssrc'), []);
  });

  test('transport, direction and other lines of media sections are kept', () => {
    const video = byMid(sdp, '1').lines;
    for (const line of ['a=ice-ufrag:Xq3v', FINGERPRINT, 'a=setup:actpass', 'a=sendonly', 'a=msid:stream cam', 'a=rtcp-mux', 'a=rtcp-rsize']) {
      assert.ok(video.includes(line), line);
    }
  });

  test('the application m-line is untouched', () => {
    const original = parseSdp(text(chromeOffer())).media[3]!;
    assert.deepEqual(byMid(sdp, '3'), original);
  });

  test('the audio and video ports stay open', () => {
    assert.deepEqual(parsed.media.map((m) => m.port), [9, 9, 9, 9]);
  });
});

describe('preparePublisherOffer codec choice', () => {
  /** Chrome's offer with only `formats` on the video m-line (mid 1), prepared: its tracks, and that m-line. */
  function offerVideo(formats: string) {
    const { sdp, tracks } = preparePublisherOffer(text(withFormats(chromeOffer(), '1', formats)));
    return { tracks, codec: tracks[1]?.codec, video: byMid(sdp, '1') };
  }

  test("the publisher's preference order decides", () => {
    const { codec, video } = offerVideo('102 103 96 97 98 99');
    assert.equal(codec!.mimeType, 'video/H264');
    assert.equal(codec!.fmtp, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f');
    assert.deepEqual(video.formats, ['102', '103'], 'with its RTX');
    assert.deepEqual(attributes(video.lines, 'rtpmap'), ['102 H264/90000', '103 rtx/90000']);
  });

  test('H264-only offer picks H264', () => {
    const { codec, video } = offerVideo('102 103 106 107 108');
    assert.equal(codec!.mimeType, 'video/H264');
    assert.equal(codec!.payloadType, 102);
    assert.deepEqual(video.formats, ['102', '103']);
    assert.deepEqual(attributes(video.lines, 'fmtp'), ['102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f', '103 apt=102']);
  });

  test('VP9-only offer picks VP9', () => {
    const { codec, video } = offerVideo('98 99');
    assert.equal(codec!.mimeType, 'video/VP9');
    assert.equal(codec!.fmtp, 'profile-id=0');
    assert.deepEqual(video.formats, ['98', '99']);
    assert.deepEqual(attributes(video.lines, 'rtpmap'), ['98 VP9/90000', '99 rtx/90000']);
  });

  test('audio with red listed first still forwards opus', () => {
    const offer = withFormats(chromeOffer(), '0', '63 111 9 0 8');
    const { tracks } = preparePublisherOffer(text(offer));
    assert.equal(tracks[0]!.codec.mimeType, 'audio/opus');
  });

  test('an m-line with no forwardable codec gets port 0 and no track', () => {
    const { tracks, video } = offerVideo('106 107 108');
    assert.equal(video.port, 0);
    assert.deepEqual(tracks.map((t) => t.mid), ['0', '2']);
  });
});

describe('preparePublisherOffer directions', () => {
  test('a recvonly m-line gets port 0 and no track', () => {
    const { sdp, tracks } = preparePublisherOffer(text(setDirection(chromeOffer(), '1', 'recvonly')));
    assert.equal(byMid(sdp, '1').port, 0);
    assert.deepEqual(tracks.map((t) => t.mid), ['0', '2']);
    assert.equal(byMid(sdp, '0').port, 9);
  });

  test('an inactive m-line gets port 0', () => {
    const { sdp, tracks } = preparePublisherOffer(text(setDirection(chromeOffer(), '0', 'inactive')));
    assert.equal(byMid(sdp, '0').port, 0);
    assert.deepEqual(tracks.map((t) => t.mid), ['1', '2']);
  });

  test('sendrecv is accepted as sending', () => {
    const { tracks } = preparePublisherOffer(text(setDirection(chromeOffer(), '1', 'sendrecv')));
    assert.deepEqual(tracks.map((t) => t.mid), ['0', '1', '2']);
  });

  test('an m-line already at port 0 is left alone and needs no ICE attributes', () => {
    const lines = chromeOffer()
      .map((l) => (l.startsWith('m=video 9') && l.includes('96 97') ? l.replace('m=video 9', 'm=video 0') : l))
      .filter((l, i, all) => {
        // Drop the ICE/DTLS attributes of mid 1 and 2 (the port-0 m-lines).
        const mid1 = all.indexOf('a=mid:1') - 7;
        const app = all.findIndex((x) => x.startsWith('m=application'));
        return !(i >= mid1 && i < app && /^a=(ice-ufrag|ice-pwd|fingerprint):/.test(l));
      });
    const { sdp, tracks } = preparePublisherOffer(text(lines));
    assert.deepEqual(tracks.map((t) => t.mid), ['0']);
    assert.equal(byMid(sdp, '1').port, 0);
    assert.ok(attributes(byMid(sdp, '1').lines, 'rtpmap').length > 1, 'not rewritten');
  });
});

describe('preparePublisherOffer counts and takes out', () => {
  test('sending audio/video m-lines, whatever their codec; not recvonly, inactive or rejected ones', () => {
    assert.equal(preparePublisherOffer(text(chromeOffer())).sendingMLines, 3);
    assert.equal(preparePublisherOffer(text(setDirection(chromeOffer(), '1', 'recvonly'))).sendingMLines, 2);
    assert.equal(preparePublisherOffer(text(withFormats(chromeOffer(), '1', '127'))).sendingMLines, 3, 'no forwardable codec still counts');
  });

  test('every mid, and the a=candidate lines with their mid (removed from the SDP)', () => {
    const candidate = 'candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host';
    const lines = chromeOffer();
    lines.splice(lines.indexOf('a=mid:1') + 1, 0, `a=${candidate}`);
    const offer = preparePublisherOffer(text(lines));
    assert.deepEqual(offer.mids, ['0', '1', '2', '3']);
    assert.deepEqual(offer.candidates, [[candidate, '1']]);
    assert.ok(!offer.sdp.includes('a=candidate'));
  });
});

describe('preparePublisherOffer simulcast by SSRC groups', () => {
  test('the primary SSRC is the first of the first FID group', () => {
    const offer = chromeOffer();
    const at = offer.indexOf('a=ssrc-group:FID 2001 2002');
    offer.splice(
      at,
      5,
      'a=ssrc-group:SIM 2001 2003 2005',
      'a=ssrc-group:FID 2001 2002',
      'a=ssrc-group:FID 2003 2004',
      'a=ssrc-group:FID 2005 2006',
      ...[2001, 2002, 2003, 2004, 2005, 2006].map((s) => `a=ssrc:${s} cname:Zr1mJ5nKp2`),
    );
    const { sdp, tracks } = preparePublisherOffer(text(offer));
    assert.equal(tracks[1]!.ssrc, 2001);
    assert.deepEqual(tracks[1]!.rtx, { payloadType: 97, ssrc: 2002 });
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'ssrc'), ['2001 cname:Zr1mJ5nKp2', '2002 cname:Zr1mJ5nKp2']);
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'ssrc-group'), []);
  });

  test('the FID group decides even when the RTX SSRC is listed first', () => {
    const offer = chromeOffer();
    const at = offer.indexOf('a=ssrc:2001 cname:Zr1mJ5nKp2');
    offer.splice(at, 4, 'a=ssrc:2002 cname:Zr1mJ5nKp2', 'a=ssrc:2002 msid:stream cam', 'a=ssrc:2001 cname:Zr1mJ5nKp2', 'a=ssrc:2001 msid:stream cam');
    const { sdp, tracks } = preparePublisherOffer(text(offer));
    assert.equal(tracks[1]!.ssrc, 2001);
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'ssrc'), [
      '2002 cname:Zr1mJ5nKp2',
      '2002 msid:stream cam',
      '2001 cname:Zr1mJ5nKp2',
      '2001 msid:stream cam',
    ]);
  });

  test('without a FID group the first a=ssrc is primary', () => {
    const offer = chromeOffer().filter((l) => !l.startsWith('a=ssrc-group:') && !l.startsWith('a=ssrc:2001'));
    const { sdp, tracks } = preparePublisherOffer(text(offer));
    assert.equal(tracks[1]!.ssrc, 2002);
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'ssrc'), ['2002 cname:Zr1mJ5nKp2', '2002 msid:stream cam']);
  });

  test('an SSRC that is a prefix of another does not keep the other', () => {
    const offer = chromeOffer()
      .filter((l) => !l.startsWith('a=ssrc-group:'))
      .map((l) => l.replace(/2002/g, '20011'));
    const { sdp } = preparePublisherOffer(text(offer));
    assert.deepEqual(attributes(byMid(sdp, '1').lines, 'ssrc'), ['2001 cname:Zr1mJ5nKp2', '2001 msid:stream cam']);
  });

  test('an SSRC out of range is ignored', () => {
    const offer = chromeOffer().map((l) => l.replace(/\b1001\b/g, '4294967296'));
    const { tracks } = preparePublisherOffer(text(offer));
    assert.equal('ssrc' in tracks[0]!, false);
  });
});

describe('preparePublisherOffer rejects unusable offers', () => {
  const rejects = (lines: string[] | string, pattern: RegExp) =>
    assert.throws(() => preparePublisherOffer(typeof lines === 'string' ? lines : text(lines)), (e: unknown) => e instanceof SdpError && pattern.test(e.message));

  test('missing a=ice-ufrag', () => {
    rejects(
      chromeOffer().filter((l) => !l.startsWith('a=ice-ufrag')),
      /ice-ufrag/,
    );
  });

  test('missing a=ice-pwd', () => {
    rejects(
      chromeOffer().filter((l) => !l.startsWith('a=ice-pwd')),
      /ice-pwd/,
    );
  });

  test('missing a=fingerprint', () => {
    rejects(
      chromeOffer().filter((l) => !l.startsWith('a=fingerprint')),
      /fingerprint/,
    );
  });

  test('missing on one m-line only', () => {
    const offer = chromeOffer();
    const mid2 = offer.indexOf('a=mid:2');
    offer.splice(mid2 - 5, 1); // that m-line's a=ice-ufrag
    assert.ok(!offer.slice(mid2 - 8, mid2).some((l) => l.startsWith('a=ice-ufrag')));
    rejects(offer, /"2".*ice-ufrag/);
  });

  test('session-level ice-ufrag, ice-pwd and fingerprint are enough', () => {
    const media = chromeOffer().slice(7).filter((l) => !/^a=(ice-ufrag|ice-pwd|fingerprint):/.test(l));
    const offer = [...chromeOffer().slice(0, 7), 'a=ice-ufrag:Xq3v', 'a=ice-pwd:b0Yf8nF+Ow2XwZ6xQh5mT1uE', FINGERPRINT, ...media];
    assert.equal(preparePublisherOffer(text(offer)).tracks.length, 3);
  });

  test('missing a=mid', () => {
    rejects(
      chromeOffer().filter((l) => l !== 'a=mid:1'),
      /a=mid/,
    );
  });

  test('empty, too long or whitespace mid', () => {
    rejects(
      chromeOffer().map((l) => (l === 'a=mid:1' ? 'a=mid:' : l)),
      /a=mid/,
    );
    rejects(
      chromeOffer().map((l) => (l === 'a=mid:1' ? `a=mid:${'m'.repeat(33)}` : l)),
      /a=mid/,
    );
    rejects(
      chromeOffer().map((l) => (l === 'a=mid:1' ? 'a=mid:a b' : l)),
      /a=mid/,
    );
    const ok = chromeOffer().map((l) => (l === 'a=mid:1' ? `a=mid:${'m'.repeat(32)}` : l));
    assert.equal(preparePublisherOffer(text(ok)).tracks[1]!.mid, 'm'.repeat(32));
  });

  test('duplicate mid', () => {
    rejects(
      chromeOffer().map((l) => (l === 'a=mid:2' ? 'a=mid:1' : l)),
      /duplicate mid "1"/,
    );
  });

  test('two a=mid (or a=setup, ICE credentials) on one m-line, as when an m= line is lost (found by the fuzzer)', () => {
    const offer = chromeOffer();
    const mLine = offer.findIndex((l, i) => i > 0 && l.startsWith('m=video'));
    rejects(offer.filter((_, i) => i !== mLine), /more than one a=(mid|ice-ufrag|ice-pwd|setup)/);
    rejects(chromeOffer().flatMap((l) => (l === 'a=setup:actpass' ? [l, 'a=setup:active'] : [l])), /more than one a=setup/);
  });

  test('no m= line', () => {
    rejects(chromeOffer().slice(0, 7), /no m= line/);
  });

  test('empty and non-SDP text', () => {
    rejects('', /empty/);
    rejects('hello', /v=0/);
  });
});

describe('preparePublisherOffer RTX', () => {
  const videoOf = (lines: string[]) => {
    const { sdp, tracks } = preparePublisherOffer(text(lines));
    return { media: byMid(sdp, '1'), track: tracks.find((t) => t.mid === '1')! };
  };

  test('the RTX of the chosen codec is kept, that of others and of RED is not', () => {
    const { media, track } = videoOf(withFormats(chromeOffer(), '1', '98 99 96 97 106 107'));
    assert.equal(track.codec.payloadType, 98);
    assert.deepEqual(track.rtx, { payloadType: 99, ssrc: 2002 });
    assert.deepEqual(media.formats, ['98', '99']);
    assert.deepEqual(attributes(media.lines, 'fmtp'), ['98 profile-id=0', '99 apt=98']);
  });

  test('no RTX when the codec did not offer generic NACK', () => {
    const { media, track } = videoOf(chromeOffer().filter((l) => l !== 'a=rtcp-fb:96 nack'));
    assert.equal(track.rtx, undefined);
    assert.deepEqual(media.formats, ['96']);
    assert.deepEqual(attributes(media.lines, 'ssrc'), ['2001 cname:Zr1mJ5nKp2', '2001 msid:stream cam']);
  });

  test('no RTX when its SSRC is not signalled: no FID group, or a FID group without a=ssrc lines for it', () => {
    const noGroup = videoOf(chromeOffer().filter((l) => !l.startsWith('a=ssrc-group:')));
    assert.equal(noGroup.track.rtx, undefined);
    assert.deepEqual(noGroup.media.formats, ['96']);
    const noLines = videoOf(chromeOffer().filter((l) => !l.startsWith('a=ssrc:2002')));
    assert.equal(noLines.track.rtx, undefined);
    assert.deepEqual(noLines.media.formats, ['96']);
  });

  test('no RTX when the rtx payload type is not in the m= line, or its apt names another codec', () => {
    assert.equal(videoOf(withFormats(chromeOffer(), '1', '96 98 99')).track.rtx, undefined);
    assert.equal(videoOf(chromeOffer().map((l) => (l === 'a=fmtp:97 apt=96' ? 'a=fmtp:97 apt=98' : l))).track.rtx, undefined);
  });

  test('an apt among other fmtp parameters counts; rtcp-fb lines of the RTX payload type go', () => {
    const offer = chromeOffer().map((l) => (l === 'a=fmtp:97 apt=96' ? 'a=fmtp:97 rtx-time=3000;apt=96' : l));
    offer.splice(offer.indexOf('a=rtpmap:97 rtx/90000') + 1, 0, 'a=rtcp-fb:97 nack');
    const { media, track } = videoOf(offer);
    assert.deepEqual(track.rtx, { payloadType: 97, ssrc: 2002 });
    assert.deepEqual(attributes(media.lines, 'fmtp'), ['97 rtx-time=3000;apt=96']);
    assert.ok(!attributes(media.lines, 'rtcp-fb').some((fb) => fb.startsWith('97 ')));
  });

  test('a FID group naming the media SSRC twice, or an RTX SSRC out of range, keeps no RTX', () => {
    const twice = chromeOffer().map((l) => (l === 'a=ssrc-group:FID 2001 2002' ? 'a=ssrc-group:FID 2001 2001' : l));
    assert.equal(videoOf(twice).track.rtx, undefined);
    const huge = chromeOffer().map((l) => l.replace(/\b2002\b/g, '4294967296'));
    assert.equal(videoOf(huge).track.rtx, undefined);
  });
});

describe('preparePublisherOffer keeping transport-cc (--publisher-feedback twcc)', () => {
  const { sdp, tracks } = preparePublisherOffer(text(chromeOffer()), true);

  test('every audio and video m-line keeps the transport-cc extmap and rtcp-fb; the other removed extensions still go', () => {
    for (const mid of ['0', '1', '2']) {
      const media = byMid(sdp, mid);
      assert.deepEqual(attributes(media.lines, 'extmap').filter((v) => v.includes(TRANSPORT_CC)), [`3 ${TRANSPORT_CC}`], `m-line ${mid}`);
      assert.deepEqual(attributes(media.lines, 'rtcp-fb').filter((v) => v.endsWith('transport-cc')), [`${mid === '0' ? 111 : 96} transport-cc`], `m-line ${mid}`);
      assert.ok(!attributes(media.lines, 'extmap').some((v) => v.includes('rtp-stream-id')), `m-line ${mid}: no stream ids`);
    }
  });

  test('each track names the extension id its packets carry', () => {
    assert.deepEqual(tracks.map((t) => t.transportCcId), [3, 3, 3]);
  });

  test('the codec keeps the feedback forwarded to subscribers, without transport-cc', () => {
    assert.deepEqual(tracks[1]!.codec.rtcpFeedback, ['goog-remb', 'ccm fir', 'nack', 'nack pli']);
  });

  test('an m-line naming the extension twice, or with an id out of range, gets no transport-cc at all', () => {
    const twice = chromeOffer().flatMap((l) => (l === `a=extmap:3 ${TRANSPORT_CC}` ? [l, `a=extmap:9 ${TRANSPORT_CC}`] : [l]));
    const prepared = preparePublisherOffer(text(twice), true);
    assert.ok(!prepared.sdp.includes('transport-cc'));
    assert.deepEqual(prepared.tracks.map((t) => t.transportCcId), [undefined, undefined, undefined]);
    const outOfRange = chromeOffer().map((l) => (l === `a=extmap:3 ${TRANSPORT_CC}` ? `a=extmap:300 ${TRANSPORT_CC}` : l));
    assert.ok(!preparePublisherOffer(text(outOfRange), true).sdp.includes('transport-cc'));
  });

  test('without the option nothing names an extension id', () => {
    assert.ok(preparePublisherOffer(text(chromeOffer())).tracks.every((t) => !('transportCcId' in t)));
  });
});

/** GStreamer 1.22 webrtcbin's offer with bundle-policy max-bundle (recorded): the audio m-line is bundle-only. */
function gstreamerMaxBundleOffer(): string[] {
  const transport = (mid: string) => [
    'c=IN IP4 0.0.0.0',
    'a=setup:actpass',
    'a=ice-ufrag:3axozOideWn9Q/Jp9T20QMGss+O43fBn',
    'a=ice-pwd:D3yFXW83L/JuuzxbCOqjqjaYakPppalQ',
    ...(mid === 'audio1' ? ['a=bundle-only'] : []),
    'a=rtcp-mux',
    'a=rtcp-rsize',
    'a=sendrecv',
  ];
  return [
    'v=0',
    'o=- 5923990823629515418 0 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=ice-options:trickle',
    'a=group:BUNDLE video0 audio1',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    ...transport('video0'),
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 nack pli',
    'a=rtcp-fb:96 ccm fir',
    'a=rtcp-fb:96 transport-cc',
    'a=framerate:30',
    'a=ssrc:694547598 msid:user1158446821@host-d5945e99 webrtctransceiver0',
    'a=ssrc:694547598 cname:user1158446821@host-d5945e99',
    'a=mid:video0',
    FINGERPRINT,
    'a=rtcp-mux-only',
    'm=audio 0 UDP/TLS/RTP/SAVPF 97',
    ...transport('audio1'),
    'a=rtpmap:97 OPUS/48000/2',
    'a=rtcp-fb:97 transport-cc',
    `a=extmap:3 ${TRANSPORT_CC}`,
    'a=fmtp:97 sprop-stereo=0;sprop-maxcapturerate=48000',
    'a=ssrc:3011074568 msid:user1158446821@host-d5945e99 webrtctransceiver1',
    'a=ssrc:3011074568 cname:user1158446821@host-d5945e99',
    'a=mid:audio1',
    FINGERPRINT,
    'a=rtcp-mux-only',
  ];
}

describe('preparePublisherOffer bundle-only m-lines (JSEP max-bundle)', () => {
  test('a bundle-only m-line is published like any other, and counts as sending', () => {
    const offer = preparePublisherOffer(text(gstreamerMaxBundleOffer()));
    assert.deepEqual(
      offer.tracks.map((t) => [t.mid, t.kind, t.codec.mimeType, t.ssrc]),
      [
        ['video0', 'video', 'video/VP8', 694547598],
        ['audio1', 'audio', 'audio/OPUS', 3011074568],
      ],
    );
    assert.equal(offer.sendingMLines, 2);
  });

  test('it keeps port 0 and a=bundle-only (libdatachannel accepts it in the BUNDLE group) and loses transport-cc like the rest', () => {
    const { sdp } = preparePublisherOffer(text(gstreamerMaxBundleOffer()));
    for (const mid of ['video0', 'audio1']) {
      const media = byMid(sdp, mid);
      assert.ok(!media.lines.some((l) => l.includes('transport-cc') || l.includes(TRANSPORT_CC)), `${mid}: ${media.lines.join(' | ')}`);
    }
    const audio = byMid(sdp, 'audio1');
    assert.equal(audio.port, 0);
    assert.deepEqual(attributes(audio.lines, 'bundle-only'), ['']);
  });

  test('a bundle-only m-line that cannot be published is rejected for good: port 0 without a=bundle-only', () => {
    const lines = gstreamerMaxBundleOffer().map((l) => (l === 'm=audio 0 UDP/TLS/RTP/SAVPF 97' ? 'm=audio 0 UDP/TLS/RTP/SAVPF 13' : l));
    const { sdp, tracks } = preparePublisherOffer(text(lines));
    assert.deepEqual(tracks.map((t) => t.mid), ['video0']);
    assert.equal(byMid(sdp, 'audio1').port, 0);
    assert.deepEqual(attributes(byMid(sdp, 'audio1').lines, 'bundle-only'), []);
  });
});
