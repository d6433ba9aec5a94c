import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { iceCredentials, restartsIce } from '../../media/sdp/ice-credentials.js';
import { parseSdp } from '../../media/sdp/sdp.js';

function sdp(session: string[], ...media: string[][]): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', ...session];
  media.forEach((m, i) => lines.push(`m=audio ${m.includes('port0') ? 0 : 9} UDP/TLS/RTP/SAVPF 111`, `a=mid:${i}`, ...m.filter((l) => l !== 'port0')));
  return lines.join('\r\n') + '\r\n';
}

const A = ['a=ice-ufrag:aaaa', 'a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa'];
const B = ['a=ice-ufrag:bbbb', 'a=ice-pwd:bbbbbbbbbbbbbbbbbbbbbbbb'];

describe('ICE credentials', () => {
  test('are read from the session and from every m-line that is not rejected', () => {
    assert.deepEqual(iceCredentials(parseSdp(sdp(A, [], B, ['port0', 'a=ice-ufrag:zzzz']))), [
      { ufrag: 'aaaa', pwd: 'aaaaaaaaaaaaaaaaaaaaaaaa' },
      { ufrag: 'aaaa', pwd: 'aaaaaaaaaaaaaaaaaaaaaaaa' },
      { ufrag: 'bbbb', pwd: 'bbbbbbbbbbbbbbbbbbbbbbbb' },
    ]);
  });

  test('the same credentials again are no restart; new ones in any m-line are', () => {
    const current = parseSdp(sdp([], A, A));
    assert.equal(restartsIce(current, parseSdp(sdp([], A, A))), false);
    assert.equal(restartsIce(current, parseSdp(sdp(A, [], []))), false);
    assert.equal(restartsIce(current, parseSdp(sdp([], B, B))), true);
    assert.equal(restartsIce(current, parseSdp(sdp([], A, B))), true);
    assert.equal(restartsIce(current, parseSdp(sdp([], A, ['a=ice-ufrag:aaaa', 'a=ice-pwd:changedchangedchanged00']))), true);
  });

  test('a first description restarts nothing', () => {
    assert.equal(restartsIce(parseSdp(sdp([], [])), parseSdp(sdp([], B))), false);
  });
});
