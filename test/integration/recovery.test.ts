import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { wrongFingerprint } from '../support/hostile.js';
import { errorCode, latestTrackId, sleep, waitUntil, sfuForThisFile } from '../support/peers.js';

const env = sfuForThisFile();

/** Applies `transform` to the first SDP only. */
function firstOnly(transform: (sdp: string) => string): (sdp: string) => string {
  let used = false;
  return (sdp) => {
    if (used) return sdp;
    used = true;
    return transform(sdp);
  };
}

describe('failed connections', { timeout: 60_000 }, () => {
  test('a failed subscriber connection is replaced by a new one with the same tracks', async () => {
    const { trackIds } = await env.peers.publisher('rec-1', 'alice');
    // Every answer names a wrong certificate until the server offers a new connection.
    const bob = await env.peers.join('rec-1', 'bob', { transformAnswer: (sdp, restarts) => (restarts === 0 ? wrongFingerprint(sdp) : sdp) });
    const restart = await bob.signaling.waitFor((e) => e.message === 'subscriberOffer' && (e.subscriberOffer as { restart: boolean }).restart);
    assert.deepEqual(
      (restart.subscriberOffer as { tracks: Array<{ trackId: string }> }).tracks.map((t) => t.trackId).sort(),
      trackIds.map(latestTrackId).sort(),
      'the new connection carries every track at once',
    );
    for (const id of trackIds) await bob.waitForPackets(id, 20);
    await bob.waitForChannels();
  });

  test('a connection that keeps failing is restarted a bounded number of times', async () => {
    const mallory = await env.peers.join('rec-2', 'mallory', { transformAnswer: wrongFingerprint });
    await waitUntil(() => mallory.subscriberOffers.filter((o) => (o.subscriberOffer as { restart: boolean }).restart).length === 3, 15_000, 'three restarts');
    await sleep(1500);
    assert.equal(mallory.subscriberOffers.filter((o) => (o.subscriberOffer as { restart: boolean }).restart).length, 3);
    assert.notEqual(mallory.subscriber?.state(), 'connected');
    // Nobody else is affected.
    const { trackIds } = await env.peers.publisher('rec-2b', 'alice');
    const bob = await env.peers.join('rec-2b', 'bob');
    for (const id of trackIds) await bob.waitForPackets(id, 20);
  });

  test('the restart limit counts failures in a row: a connection that came up resets it', async () => {
    const { trackIds } = await env.peers.publisher('rec-4', 'alice');
    const bob = await env.peers.join('rec-4', 'bob');
    const restarts = () => bob.subscriberOffers.filter((o) => (o.subscriberOffer as { restart: boolean }).restart).length;
    // More failures than the limit, each after the connection had come up: every one is restarted.
    for (let failure = 1; failure <= 4; failure++) {
      await waitUntil(() => bob.subscriber?.state() === 'connected', 10_000, `connection ${failure} up`);
      bob.subscriber!.close();
      await waitUntil(() => restarts() === failure, 10_000, `restart ${failure}`);
    }
    for (const id of trackIds) await bob.waitForPackets(id, 20);
  });

  test('a failed publisher connection is reported; publishing again on a new one works', async () => {
    const bob = await env.peers.join('rec-3', 'bob');
    const alice = await env.peers.join('rec-3', 'alice', { transformOffer: firstOnly(wrongFingerprint) });
    const failed = alice.signaling.waitFor((e) => errorCode(e) === 'CONNECTION_FAILED', 15_000);
    const first = await alice.publish({ audio: true, video: 'VP8' });
    alice.startMedia();
    await failed;
    // The server unpublished the tracks of the failed connection...
    for (const { trackId } of first) {
      await bob.signaling.waitFor((e) => e.message === 'trackUnpublished' && (e.trackUnpublished as { trackId: string }).trackId === trackId);
    }
    // ...and the client published again (MediaPeer does so on CONNECTION_FAILED).
    await waitUntil(() => alice.published.size === 2 && [...alice.published.values()].every((t) => t.track.isOpen()), 10_000, 'the new publisher connection');
    const republished = await bob.signaling.waitFor(
      (e) => e.message === 'trackPublished' && bob.signaling.received.indexOf(e) > bob.signaling.received.findIndex((x) => x.message === 'trackUnpublished'),
    );
    const trackId = (republished.trackPublished as { track: { trackId: string } }).track.trackId;
    await bob.waitForPackets(trackId, 20);
  });
});
