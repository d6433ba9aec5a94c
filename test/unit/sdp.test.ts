import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attribute, attributes, mediaDirection, mediaMid, parseSdp, SdpError, writeSdp, type SdpMedia } from '../../media/sdp/sdp.js';

const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=extmap-allow-mixed',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtpmap:0 PCMU/8000',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sctp-port:5000',
  '',
].join('\r\n');

function media(lines: string[], kind = 'video'): SdpMedia {
  return { kind, port: 9, protocol: 'UDP/TLS/RTP/SAVPF', formats: ['96'], lines };
}

describe('parseSdp', () => {
  test('splits session and media sections', () => {
    const sdp = parseSdp(OFFER);
    assert.deepEqual(sdp.session, [
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0 1',
      'a=extmap-allow-mixed',
    ]);
    assert.equal(sdp.media.length, 2);
    assert.deepEqual(sdp.media[0], {
      kind: 'audio',
      port: 9,
      protocol: 'UDP/TLS/RTP/SAVPF',
      formats: ['111', '0'],
      lines: ['c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000'],
    });
    assert.deepEqual(sdp.media[1], {
      kind: 'application',
      port: 9,
      protocol: 'UDP/DTLS/SCTP',
      formats: ['webrtc-datachannel'],
      lines: ['c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sctp-port:5000'],
    });
  });

  test('accepts LF line endings and blank lines', () => {
    const lf = OFFER.replace(/\r\n/g, '\n').replace('s=-\n', 's=-\n\n');
    assert.deepEqual(parseSdp(lf), parseSdp(OFFER));
  });

  test('an SDP with no m= line has only a session part', () => {
    const sdp = parseSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n');
    assert.equal(sdp.media.length, 0);
    assert.equal(sdp.session.length, 4);
  });

  test('port 0 is accepted', () => {
    const sdp = parseSdp('v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n');
    assert.equal(sdp.media[0]!.port, 0);
  });

  test('rejects empty input', () => {
    assert.throws(() => parseSdp(''), SdpError);
  });

  test('rejects input that does not start with v=0', () => {
    assert.throws(() => parseSdp('o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n'), SdpError);
    assert.throws(() => parseSdp('v=1\r\n'), SdpError);
    assert.throws(() => parseSdp('hello'), SdpError);
  });

  test('rejects lines that are not "<letter>=..."', () => {
    assert.throws(() => parseSdp('v=0\r\nthis is not sdp\r\n'), SdpError);
    assert.throws(() => parseSdp('v=0\r\nA=foo\r\n'), SdpError);
    assert.throws(() => parseSdp('v=0\r\n=foo\r\n'), SdpError);
    assert.throws(() => parseSdp('v=0\r\n a=foo\r\n'), SdpError);
  });

  test('rejects bad m= lines', () => {
    for (const m of [
      'm=video',
      'm=video 9',
      'm=video x UDP/TLS/RTP/SAVPF 96',
      'm=video -1 UDP/TLS/RTP/SAVPF 96',
      'm=video 65536 UDP/TLS/RTP/SAVPF 96',
      'm=video 9.5 UDP/TLS/RTP/SAVPF 96',
      'm= 9 UDP/TLS/RTP/SAVPF 96',
    ]) {
      assert.throws(() => parseSdp(`v=0\r\n${m}\r\n`), SdpError, m);
    }
  });

  test('rejects SDP longer than 256 KiB', () => {
    const long = 'v=0\r\n' + `a=x:${'y'.repeat(256 * 1024)}\r\n`;
    assert.throws(() => parseSdp(long), (e: unknown) => e instanceof SdpError && /longer/.test(e.message));
  });

  test('SdpError is an Error named SdpError', () => {
    const e = new SdpError('x');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'SdpError');
    assert.equal(e.message, 'x');
  });
});

describe('writeSdp', () => {
  test('writes CRLF lines ending in CRLF and round trips', () => {
    const text = writeSdp(parseSdp(OFFER));
    assert.equal(text, OFFER);
    assert.ok(text.endsWith('\r\n'));
    assert.ok(!/[^\r]\n/.test(text));
  });

  test('writes edited m= lines', () => {
    const sdp = parseSdp(OFFER);
    sdp.media[0]!.port = 0;
    sdp.media[0]!.formats = ['111'];
    assert.ok(writeSdp(sdp).includes('\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n'));
  });
});

describe('attributes / attribute', () => {
  const lines = ['a=rtcp-mux', 'a=rtcp:9 IN IP4 0.0.0.0', 'a=ssrc-group:FID 1 2', 'a=ssrc:1 cname:x', 'a=ssrc:2 cname:x', 'a=mid:0', 'b=AS:30'];

  test('values of a=name:value lines in order', () => {
    assert.deepEqual(attributes(lines, 'ssrc'), ['1 cname:x', '2 cname:x']);
    assert.deepEqual(attributes(lines, 'ssrc-group'), ['FID 1 2']);
  });

  test('a flag gives an empty string', () => {
    assert.deepEqual(attributes(lines, 'rtcp-mux'), ['']);
    assert.equal(attribute(lines, 'rtcp-mux'), '');
  });

  test('does not match attributes that only share a prefix', () => {
    assert.deepEqual(attributes(lines, 'rtcp'), ['9 IN IP4 0.0.0.0']);
    assert.deepEqual(attributes(lines, 'ss'), []);
    assert.deepEqual(attributes(lines, 'mi'), []);
  });

  test('none, and an empty list', () => {
    assert.deepEqual(attributes(lines, 'fingerprint'), []);
    assert.equal(attribute(lines, 'fingerprint'), undefined);
    assert.deepEqual(attributes([], 'mid'), []);
  });

  test('attribute is the first value', () => {
    assert.equal(attribute(lines, 'ssrc'), '1 cname:x');
    assert.equal(attribute(lines, 'mid'), '0');
  });

  test('only a= lines count', () => {
    assert.deepEqual(attributes(['b=AS:30'], 'AS'), []);
  });
});

describe('mediaMid / mediaDirection', () => {
  test('mediaMid', () => {
    assert.equal(mediaMid(media(['a=mid:video0'])), 'video0');
    assert.equal(mediaMid(media(['a=sendonly'])), undefined);
    assert.equal(mediaMid(media(['a=mid:'])), '');
  });

  test('mediaDirection reads each direction', () => {
    for (const d of ['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const) {
      assert.equal(mediaDirection(media(['a=mid:0', `a=${d}`, 'a=rtcp-mux'])), d);
    }
  });

  test('mediaDirection defaults to sendrecv', () => {
    assert.equal(mediaDirection(media(['a=mid:0'])), 'sendrecv');
    assert.equal(mediaDirection(media([])), 'sendrecv');
  });

  test('mediaDirection takes the first direction line and ignores look-alikes', () => {
    assert.equal(mediaDirection(media(['a=sendonlyx', 'a=recvonly', 'a=sendonly'])), 'recvonly');
  });
});
