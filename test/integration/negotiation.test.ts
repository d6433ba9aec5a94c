import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSdp, writeSdp } from '../../media/sdp/sdp.js';
import { mediaSection, sfuForThisFile } from '../support/peers.js';

const env = sfuForThisFile({ workers: 1 });

const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/**
 * Makes the offer's second m-line bundle-only, as JSEP's max-bundle policy
 * and GStreamer's webrtcbin (bundle-policy max-bundle) offer it: port 0 and
 * a=bundle-only, inside the BUNDLE group. It also asks for transport-cc on it,
 * as those stacks do.
 */
function secondMLineBundleOnly(sdp: string): string {
  const parsed = parseSdp(sdp);
  const media = parsed.media[1]!;
  media.port = 0;
  const pt = media.formats[0]!;
  media.lines.unshift('a=bundle-only');
  media.lines.push(`a=rtcp-fb:${pt} transport-cc`, `a=extmap:5 ${TRANSPORT_CC_URI}`);
  return writeSdp(parsed);
}

describe('bundle-only m-lines publish like any other', { timeout: 60_000 }, () => {
  test('a bundle-only audio m-line is published: in publishAnswer, trackPublished, forwarded; its answer has no transport-cc', async () => {
    const bob = await env.peers.join('bundle-only', 'bob');
    const alice = await env.peers.join('bundle-only', 'alice', { transformOffer: secondMLineBundleOnly });
    const tracks = await alice.publish({ audio: true, video: 'VP8', videoFirst: true });
    assert.deepEqual(tracks.map((t) => t.mid).sort(), ['0', '1'], 'both m-lines (audio "0" is bundle-only) are published');
    const audioId = tracks.find((t) => t.mid === '0')!.trackId;

    const answer = alice.signaling.received.find((e) => e.message === 'publishAnswer')!.publishAnswer as { sdp: string };
    const audio = mediaSection(answer.sdp, '0')!;
    assert.equal(audio.kind, 'audio');
    assert.notEqual(audio.port, 0, 'the answer accepts the bundle-only m-line');
    assert.ok(!audio.lines.some((l) => l.includes('transport-cc') || l.includes(TRANSPORT_CC_URI)), audio.lines.join('\n'));

    await alice.waitPublisherConnected();
    alice.startMedia();
    for (const { trackId } of tracks) await bob.waitForPackets(trackId, 20);
    const announced = bob.signaling.received.filter((e) => e.message === 'trackPublished').map((e) => (e.trackPublished as { track: { trackId: string; kind: string } }).track);
    assert.deepEqual(announced.find((t) => t.trackId === audioId)?.kind, 'AUDIO', 'trackPublished went out for the bundle-only audio');
  });
});
