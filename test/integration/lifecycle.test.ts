import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mediaDirection } from '../../media/sdp/sdp.js';
import { latestTrackId, mediaSection, packetsDuring, sleep, waitUntil, sfuForThisFile } from '../support/peers.js';

const env = sfuForThisFile();

describe('publish and subscribe life cycle', { timeout: 60_000 }, () => {
  test('a new publisher reaches every subscriber already in the room through renegotiation', async () => {
    const bob = await env.peers.join('life-1', 'bob');
    const carol = await env.peers.join('life-1', 'carol');
    const { trackIds } = await env.peers.publisher('life-1', 'alice');
    for (const subscriber of [bob, carol]) {
      await subscriber.signaling.waitFor((e) => e.message === 'trackPublished' && trackIds.map(latestTrackId).includes((e.trackPublished as { track: { trackId: string } }).track.trackId));
      for (const id of trackIds) await subscriber.waitForPackets(id, 20);
      // The track came with a new offer after the first (data channel only) one.
      assert.ok(subscriber.subscriberOffers.length >= 2);
      const last = subscriber.subscriberOffers.at(-1)!.subscriberOffer as { tracks: Array<{ trackId: string }> };
      assert.deepEqual(last.tracks.map((t) => t.trackId).sort(), trackIds.map(latestTrackId).sort());
    }
  });

  test('a publisher that leaves is removed from subscribers: told, m-lines inactive, packets stop', async () => {
    const bob = await env.peers.join('life-2', 'bob');
    const { peer: alice, trackIds } = await env.peers.publisher('life-2', 'alice');
    for (const id of trackIds) await bob.waitForPackets(id, 10);
    const mids = trackIds.map((id) => bob.receivedTrack(id)!.mid);
    const offersBefore = bob.subscriberOffers.length;

    assert.equal((await alice.leave()).message, 'left');
    const left = await bob.signaling.waitFor((e) => e.message === 'participantLeft');
    assert.equal((left.participantLeft as { identity: string }).identity, 'alice');
    for (const id of trackIds) {
      await bob.signaling.waitFor((e) => e.message === 'trackUnpublished' && (e.trackUnpublished as { trackId: string }).trackId === latestTrackId(id));
    }
    const lastOffer = () => bob.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string; tracks: unknown[] };
    await waitUntil(() => bob.subscriberOffers.length > offersBefore && lastOffer().tracks.length === 0, 5000, 'an offer without the tracks');
    const offer = lastOffer();
    // The m-lines stay, inactive, for tracks to come.
    for (const mid of mids) assert.equal(mediaDirection(mediaSection(offer.sdp, mid)!), 'inactive', `m-line ${mid} carries nothing`);
    await sleep(300);
    assert.equal(await packetsDuring(bob, trackIds, 1000), 0);
  });

  test('a late subscriber gets every track already published', async () => {
    const a = await env.peers.publisher('life-3', 'alice');
    const b = await env.peers.publisher('life-3', 'bob');
    const dave = await env.peers.join('life-3', 'dave');
    const joined = dave.joined!.joined as { tracks: Array<{ trackId: string }>; participants: Array<{ identity: string }> };
    const expected = [...a.trackIds, ...b.trackIds];
    assert.deepEqual(joined.tracks.map((t) => t.trackId).sort(), expected.sort());
    assert.deepEqual(joined.participants.map((p) => p.identity).sort(), ['alice', 'bob']);
    for (const id of expected) await dave.waitForPackets(id, 20);
  });

  test('a publisher that leaves and rejoins with the same identity is received again', async () => {
    const bob = await env.peers.join('life-4', 'bob');
    const first = await env.peers.publisher('life-4', 'alice');
    for (const id of first.trackIds) await bob.waitForPackets(id, 10);
    await first.peer.leave();
    first.peer.close();
    const second = await env.peers.publisher('life-4', 'alice');
    assert.notDeepEqual(second.trackIds, first.trackIds);
    for (const id of second.trackIds) await bob.waitForPackets(id, 20);
    assert.ok((await packetsDuring(bob, second.trackIds, 500)) > 0);
  });

  test('joining again with an identity already in the room replaces the older session', async () => {
    const bob = await env.peers.join('life-5', 'bob');
    const old = await env.peers.join('life-5', 'alice');
    const replacedError = old.signaling.waitFor((e) => e.message === 'error');
    const fresh = await env.peers.publisher('life-5', 'alice');
    assert.equal(((await replacedError).error as { code: string }).code, 'REPLACED');
    await bob.signaling.waitFor((e) => e.message === 'participantLeft' && (e.participantLeft as { participantId: string }).participantId === old.participantId);
    for (const id of fresh.trackIds) await bob.waitForPackets(id, 10);
  });

  test('two rooms never see each other\'s media or events', async () => {
    const bob = await env.peers.join('life-6a', 'bob');
    const frank = await env.peers.join('life-6b', 'frank');
    const alice = await env.peers.publisher('life-6a', 'alice');
    const erin = await env.peers.publisher('life-6b', 'erin');
    for (const id of alice.trackIds) await bob.waitForPackets(id, 20);
    for (const id of erin.trackIds) await frank.waitForPackets(id, 20);
    await sleep(500);
    assert.deepEqual([...bob.received.keys()].sort(), alice.trackIds.map(latestTrackId).sort());
    assert.deepEqual([...frank.received.keys()].sort(), erin.trackIds.map(latestTrackId).sort());
    const identities = (peer: typeof bob) =>
      peer.signaling.received
        .filter((e) => e.message === 'participantJoined')
        .map((e) => (e.participantJoined as { participant: { identity: string } }).participant.identity);
    assert.deepEqual(identities(bob), ['alice']);
    assert.deepEqual(identities(frank), ['erin']);
    assert.ok(!bob.signaling.received.some((e) => JSON.stringify(e).includes(erin.peer.participantId)));
    assert.ok(!frank.signaling.received.some((e) => JSON.stringify(e).includes(alice.peer.participantId)));
  });
});
