import assert from 'node:assert/strict';
import { describe as suite, test } from 'node:test';
import type { MediaPeer } from '../../bench/client/media-peer.js';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { parseSdp } from '../../media/sdp/sdp.js';
import { manyVideoMLinesOffer, publisherOfferSdp } from '../support/hostile.js';
import { errorCode, sfuForThisFile, waitUntil } from '../support/peers.js';

// The churn below runs a cycle every few milliseconds, far faster than any real room: its subscriber
// answers hundreds of offers a second, over the message rate limit, which is not what this tests.
const env = sfuForThisFile({ workers: 1, limits: { maxMessagesPerSecond: 1_000_000 } });

const CHURN_CYCLES = 100;

/** The last subscriber offer `peer` got: its SDP's m-lines and the tracks it lists. */
function lastOffer(peer: MediaPeer): { mLines: number; tracks: number; bytes: number } {
  const offer = peer.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string; tracks: unknown[] };
  return { mLines: parseSdp(offer.sdp).media.length, tracks: offer.tracks.length, bytes: offer.sdp.length };
}

/** Bob's last offer and the errors he got, for failure messages. */
function describe(peer: MediaPeer): string {
  const last = lastOffer(peer);
  const errors = peer.signaling.received.filter((e) => errorCode(e) !== undefined).map((e) => JSON.stringify(e.error));
  return `last offer ${last.mLines} m-lines, ${last.bytes} bytes; errors ${errors.join(', ') || 'none'}`;
}

suite('subscriber m-lines follow the live tracks, not their history', { timeout: 120_000 }, () => {
  test('a publisher offering 300 m-lines is refused with TOO_MANY_TRACKS; the subscribers carry on', async () => {
    const bob = await env.peers.join('mlines-attack', 'bob');
    const { trackIds } = await env.peers.publisher('mlines-attack', 'alice');
    for (const id of trackIds) await bob.waitForPackets(id, 10);
    const mallory = await env.peers.join('mlines-attack', 'mallory');
    const sdp = manyVideoMLinesOffer(await publisherOfferSdp(), 300);
    const reply = await mallory.signaling.request({ publishOffer: { sdp } }, 30_000);
    assert.equal(errorCode(reply), 'TOO_MANY_TRACKS', JSON.stringify(reply.error ?? reply.message));
    assert.ok(sdp.length > 25_000 && sdp.length < 40_000, `the offer is ${sdp.length} bytes`);
    // Bob's subscriber connection never grew: a new publisher still reaches him.
    const carol = await env.peers.publisher('mlines-attack', 'carol');
    for (const id of carol.trackIds) await bob.waitForPackets(id, 10);
    assert.ok(lastOffer(bob).mLines <= 5, `bob's last offer has ${lastOffer(bob).mLines} m-lines`);
    assert.deepEqual(bob.signaling.received.filter((e) => errorCode(e) !== undefined).map((e) => e.error), [], 'bob got no error');
  });

  test(`${CHURN_CYCLES} publishers joining and leaving: a long-lived subscriber's offers stay small and it receives the newest publisher`, async (t) => {
    const bob = await env.peers.join('churn', 'bob');
    await bob.waitForChannels();
    const sdp = await publisherOfferSdp();
    let maxMLines = 0;
    for (let cycle = 0; cycle < CHURN_CYCLES; cycle++) {
      const churner = await SignalingClient.connect(env.sfu.url);
      assert.equal((await churner.request({ join: { room: 'churn', identity: `p${cycle}` } })).message, 'joined');
      const answer = await churner.request({ publishOffer: { sdp } });
      assert.equal(answer.message, 'publishAnswer');
      // Bob gets the tracks, then loses them: each cycle leaves its trace in his offers.
      const [first] = (answer.publishAnswer as { tracks: Array<{ trackId: string }> }).tracks;
      await waitUntil(() => bob.received.has(first!.trackId), 10_000, () => `cycle ${cycle}: bob gets ${first!.trackId} (${describe(bob)})`);
      await churner.request({ leave: {} });
      churner.close();
      maxMLines = Math.max(maxMLines, lastOffer(bob).mLines);
    }
    // Every offer answered, and none of bob's answers refused.
    await waitUntil(() => lastOffer(bob).tracks === 0, 10_000, 'an offer without the churned tracks');
    const { trackIds } = await env.peers.publisher('churn', 'alice');
    for (const id of trackIds) await bob.waitForPackets(id, 20, 15_000);
    const last = lastOffer(bob);
    t.diagnostic(`after ${CHURN_CYCLES} cycles: last offer ${last.mLines} m-lines (${last.tracks} tracks), ${last.bytes} bytes; at most ${maxMLines} m-lines during the churn`);
    assert.deepEqual(bob.signaling.received.filter((e) => errorCode(e) !== undefined).map((e) => e.error), [], 'bob got no error');
    // Data channels, the live tracks, and m-lines released by the last cycles that were not free yet when tracks came.
    assert.ok(last.mLines <= 1 + 3 * 2 && maxMLines <= 1 + 3 * 2, `the last offer has ${last.mLines} m-lines for ${last.tracks} live tracks, at most ${maxMLines}`);
    // The newest tracks came on m-lines of earlier ones (200 tracks went through: new m-lines would be t200 and up).
    for (const id of trackIds) assert.ok(Number(bob.receivedTrack(id)!.mid.slice(1)) < 10, `${id} on m-line ${bob.receivedTrack(id)!.mid}`);
  });
});
