import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { announceAddressInSdp, candidateTarget, normalizeCandidate, takeCandidates, withAddress } from '../../media/sdp/candidates.js';
import { parseSdp, writeSdp } from '../../media/sdp/sdp.js';

const HOST = 'candidate:842163049 1 udp 1677729535 192.168.1.20 54400 typ host generation 0 ufrag Xq3v network-cost 999';
const SRFLX = 'candidate:3098175849 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 54400 generation 0';
const TCP = 'candidate:1 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active';
const IPV6 = 'candidate:2 1 udp 2122262783 fd00::2 50000 typ host';
const MDNS = 'candidate:3 1 udp 2122260223 5c0f1b6e-3b44-4b6c-9a6e-3c0a4e4c1a2b.local 60123 typ host';

describe('normalizeCandidate', () => {
  test('returns a candidate unchanged', () => {
    for (const c of [HOST, SRFLX, TCP, IPV6, MDNS]) assert.equal(normalizeCandidate(c), c);
  });

  test('the minimal eight fields are enough', () => {
    const c = 'candidate:1 1 udp 1 127.0.0.1 5000 typ host';
    assert.equal(normalizeCandidate(c), c);
  });

  test('strips an a= prefix', () => {
    assert.equal(normalizeCandidate(`a=${HOST}`), HOST);
  });

  /** Every line is refused as "not an ICE candidate". */
  const notACandidate = (...lines: string[]): void => {
    for (const line of lines) assert.throws(() => normalizeCandidate(line), /not an ICE candidate/, line);
  };

  test('rejects the empty string (end-of-candidates is not a candidate)', () => {
    notACandidate('', 'a=');
  });

  test('rejects lines that are not candidates', () => {
    notACandidate('a=mid:0', 'candidat:1 1 udp 1 127.0.0.1 5000 typ host');
  });

  test('trims surrounding whitespace and line endings', () => {
    assert.equal(normalizeCandidate(' candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n'), 'candidate:1 1 udp 1 127.0.0.1 5000 typ host');
  });

  test('rejects candidates with too few fields', () => {
    notACandidate('candidate:1 1 udp 1 127.0.0.1 5000 typ', 'candidate:1');
  });

  test('rejects a candidate without "typ" as the seventh field', () => {
    notACandidate('candidate:1 1 udp 1 127.0.0.1 5000 type host', 'candidate:1 1 udp 1 127.0.0.1 typ host extra');
  });

  test('rejects candidates over 1024 characters, accepts exactly 1024', () => {
    const base = 'candidate:1 1 udp 1 127.0.0.1 5000 typ host x ';
    const exact = base + 'y'.repeat(1024 - base.length);
    assert.equal(exact.length, 1024);
    assert.equal(normalizeCandidate(exact), exact);
    assert.throws(() => normalizeCandidate(exact + 'y'), /too long/);
    assert.equal(normalizeCandidate('a=' + exact), exact, 'the limit applies after the a= prefix');
  });

  test('the error message quotes at most 80 characters', () => {
    assert.throws(
      () => normalizeCandidate('x'.repeat(500)),
      (e: Error) => e.message.includes(JSON.stringify('x'.repeat(80))) && !e.message.includes('x'.repeat(81)),
    );
  });
});

describe('withAddress', () => {
  test('replaces the connection address and nothing else', () => {
    assert.equal(
      withAddress(HOST, '198.51.100.9'),
      'candidate:842163049 1 udp 1677729535 198.51.100.9 54400 typ host generation 0 ufrag Xq3v network-cost 999',
    );
    assert.equal(
      withAddress(SRFLX, '198.51.100.9'),
      'candidate:3098175849 1 udp 1686052607 198.51.100.9 61000 typ srflx raddr 192.168.1.20 rport 54400 generation 0',
    );
  });

  test('works for IPv6 both ways', () => {
    assert.equal(withAddress(IPV6, '2001:db8::1'), 'candidate:2 1 udp 2122262783 2001:db8::1 50000 typ host');
    assert.equal(withAddress(HOST, '2001:db8::1').split(' ')[4], '2001:db8::1');
  });

  test('leaves short strings alone', () => {
    assert.equal(withAddress('', '1.2.3.4'), '');
    assert.equal(withAddress('candidate:1 1 udp 1 10.0.0.1 5000 typ', '1.2.3.4'), 'candidate:1 1 udp 1 10.0.0.1 5000 typ');
  });
});

describe('announceAddressInSdp', () => {
  const sdp = [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    `a=${HOST}`,
    `a=${SRFLX}`,
    'a=end-of-candidates',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=mid:1',
    `a=${IPV6}`,
    '',
  ];

  test('rewrites every a=candidate line of a CRLF SDP', () => {
    const out = announceAddressInSdp(sdp.join('\r\n'), '198.51.100.9').split('\r\n');
    assert.equal(out.length, sdp.length);
    assert.equal(out[7], `a=${withAddress(HOST, '198.51.100.9')}`);
    assert.equal(out[8], `a=${withAddress(SRFLX, '198.51.100.9')}`);
    assert.equal(out[12], `a=${withAddress(IPV6, '198.51.100.9')}`);
    for (const i of [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 13]) assert.equal(out[i], sdp[i], `line ${i}`);
  });

  test('works with LF line endings', () => {
    const out = announceAddressInSdp(sdp.join('\n'), '198.51.100.9').split('\n');
    assert.equal(out[7], `a=${withAddress(HOST, '198.51.100.9')}`);
    assert.equal(out[12], `a=${withAddress(IPV6, '198.51.100.9')}`);
    assert.equal(out[1], sdp[1], 'the o= line address is untouched');
  });

  test('a final candidate line without a line ending', () => {
    assert.equal(announceAddressInSdp(`v=0\r\na=${TCP}`, '1.2.3.4'), `v=0\r\na=${withAddress(TCP, '1.2.3.4')}`);
  });

  test('an SDP with no candidates is returned unchanged', () => {
    const none = 'v=0\r\ns=-\r\nt=0 0\r\n';
    assert.equal(announceAddressInSdp(none, '1.2.3.4'), none);
    assert.equal(announceAddressInSdp('', '1.2.3.4'), '');
  });

  test('candidate text not at the start of a line is left alone', () => {
    const odd = `v=0\r\nx=a=${HOST}\r\n`;
    assert.equal(announceAddressInSdp(odd, '1.2.3.4'), odd);
  });
});

describe('candidateTarget', () => {
  const at = (address: string, port = '5000') => candidateTarget(`candidate:1 1 udp 1 ${address} ${port} typ host`);

  test('unicast addresses of either family are peers', () => {
    for (const address of ['127.0.0.1', '192.168.1.20', '203.0.113.7', '::1', 'fe80::1', '2001:db8::7', '::ffff:10.0.0.1', '[2001:db8::7]']) {
      assert.equal(at(address), 'address', address);
    }
  });

  test('addresses no peer can have are refused', () => {
    for (const address of ['0.0.0.0', '0.1.2.3', '224.0.0.251', '239.255.255.250', '240.0.0.1', '255.255.255.255', '::', '0:0:0:0:0:0:0:0', 'ff02::1', 'FF05::2', '::ffff:224.0.0.1']) {
      assert.throws(() => at(address), /cannot be a peer/, address);
    }
  });

  test('port 0 and ports out of range are refused', () => {
    for (const port of ['0', '65536', '-1', 'x', '1.5']) assert.throws(() => at('192.168.1.20', port), /not a port/, port);
    assert.equal(at('192.168.1.20', '65535'), 'address');
  });

  test('transports other than UDP and TCP, and unknown types, are refused', () => {
    assert.throws(() => candidateTarget('candidate:1 1 xyz 1 10.0.0.1 5000 typ host'), /neither UDP nor TCP/);
    assert.throws(() => candidateTarget('candidate:1 1 udp 1 10.0.0.1 5000 typ weird'), /type "weird" is unknown/);
    for (const c of [HOST, SRFLX, TCP, 'candidate:1 1 UDP 1 10.0.0.1 5000 typ relay raddr 1.2.3.4 rport 9', 'candidate:1 1 udp 1 10.0.0.1 5000 typ prflx']) {
      assert.equal(candidateTarget(c), 'address', c);
    }
  });

  test('a host name (mDNS) is recognised, and something that is neither is refused', () => {
    assert.equal(candidateTarget(MDNS), 'hostname');
    assert.throws(() => at('bad_host!'), /neither an IP address nor a host name/);
  });
});

describe('takeCandidates', () => {
  test('removes every a=candidate line, keeping the mid of its m-line', () => {
    const sdp = parseSdp(['v=0', 's=-', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:a', `a=${HOST}`, 'a=end-of-candidates', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:v', `a=${IPV6}`, ''].join('\r\n'));
    assert.deepEqual(takeCandidates(sdp), [
      [HOST, 'a'],
      [IPV6, 'v'],
    ]);
    assert.ok(!writeSdp(sdp).includes('a=candidate'));
    assert.ok(writeSdp(sdp).includes('a=end-of-candidates'));
  });
});
