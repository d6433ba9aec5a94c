/**
 * Media between nodes through NATS (issue 8, points 7 to 10): two in-process
 * nodes on one real nats-server. Cross-node room membership is not what this
 * file tests: a subscriber on node 2 is made to consume a track of node 1 by
 * asking its worker directly, as the room service does for a remote track.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { MediaPeer } from '../../bench/client/media-peer.js';
import type { GatewayStats } from '../../media/gateway/protocol.js';
import { buildFir, buildNack, buildPli } from '../../media/rtp/rtcp.js';
import { sequenceNumber, ssrc as ssrcOf } from '../../media/rtp/rtp-packet.js';
import { rtxOriginalSequenceNumber } from '../../media/rtp/rtx.js';
import { attribute } from '../../media/sdp/sdp.js';
import type { ProducerInfo, WorkerStats } from '../../media/worker/protocol.js';
import { mediaSection, plisFor, sleep, waitUntil } from '../support/peers.js';
import type { TestSfu } from '../support/sfu.js';
import { twoNodesForThisFile } from '../support/two-nodes.js';

/** Node 2 keeps a short retransmission history: NACKs for older packets must be asked of node 1. */
const NODE2_HISTORY = 16;

// Two workers each, one participant per worker and room: rooms spread over both.
const env = twoNodesForThisFile((cluster) => [
  { nodeId: 'node-1', workers: 2, roomWorkerCapacity: 1, cluster },
  { nodeId: 'node-2', workers: 2, roomWorkerCapacity: 1, cluster, media: { retransmissionBufferPackets: NODE2_HISTORY } },
]);

/** Publishers of the tests so far: their media stops after each test. */
const publishers: MediaPeer[] = [];

async function publisher(room: string, identity: string): Promise<{ peer: MediaPeer; trackIds: string[] }> {
  const published = await env.peers1.publisher(room, identity);
  publishers.push(published.peer);
  return published;
}

// Clients are closed only once the nodes have stopped: a node's subscriber connection that its client
// closes would be replaced by a new one (recovery.test.ts covers that), noise for these tests.
afterEach(() => {
  for (const peer of publishers.splice(0)) peer.stopMedia();
});

function workerOf(sfu: TestSfu, participantId: string): number {
  for (const room of sfu.node.rooms.dump()) {
    const p = room.participants.find((x) => x.participantId === participantId);
    if (p) return p.workerId;
  }
  throw new Error(`participant ${participantId} not on ${sfu.node.config.nodeId}`);
}

async function producersOf(sfu: TestSfu, peer: MediaPeer): Promise<ProducerInfo[]> {
  const all = await sfu.node.pool.get(workerOf(sfu, peer.participantId))!.request('producers', {});
  return all.filter((p) => p.participantId === peer.participantId);
}

/** Makes `subscriber` (on `sfu`) consume tracks of another node, as the room service does for a remote publisher. */
async function consume(sfu: TestSfu, subscriber: MediaPeer, producers: ProducerInfo[]): Promise<void> {
  const worker = sfu.node.pool.get(workerOf(sfu, subscriber.participantId))!;
  for (const producer of producers) await worker.request('consume', { participantId: subscriber.participantId, producer });
}

async function unconsume(sfu: TestSfu, subscriber: MediaPeer, producers: ProducerInfo[]): Promise<void> {
  const worker = sfu.node.pool.get(workerOf(sfu, subscriber.participantId))!;
  for (const { trackId } of producers) await worker.request('unconsume', { participantId: subscriber.participantId, trackId });
}

async function gateway(sfu: TestSfu): Promise<GatewayStats> {
  const stats = await sfu.node.pool.fetchGatewayStats();
  assert.ok(stats, `${sfu.node.config.nodeId} runs a media gateway`);
  return stats;
}

/** Worker counters of a node, summed. */
async function workers(sfu: TestSfu): Promise<Pick<WorkerStats, 'retransmissionsAsked' | 'retransmissionsResent'>> {
  const all = await Promise.all(sfu.node.pool.workers.map((w) => w.request('getStats', {})));
  return {
    retransmissionsAsked: all.reduce((n, s) => n + s.retransmissionsAsked, 0),
    retransmissionsResent: all.reduce((n, s) => n + s.retransmissionsResent, 0),
  };
}

/** How much `read` grew during `ms`. */
async function growth(read: () => Promise<number>, ms: number): Promise<number> {
  const first = await read();
  await sleep(ms);
  return (await read()) - first;
}

const gatewayName = (sfu: TestSfu) => `shoal-media-${sfu.node.config.nodeId}`;

describe('media between nodes', { timeout: 120_000 }, () => {
  test('a track goes to NATS only while another node wants it; media between workers of one node never does', async () => {
    const { peer: alice, trackIds } = await publisher('m1', 'alice');
    const carol = await env.peers1.join('m1', 'carol');
    assert.notEqual(workerOf(env.node1, carol.participantId), workerOf(env.node1, alice.participantId), 'carol is on the other worker of node 1');
    for (const id of trackIds) await carol.waitForPackets(id, 50);

    // Media crosses workers in-process; nothing of it reaches NATS.
    await sleep(500);
    assert.equal((await growth(async () => (await gateway(env.node1)).messagesOut, 1000)), 0, 'node 1 publishes nothing');
    const quiet = await gateway(env.node1);
    assert.equal(quiet.rtpMessagesOut, 0);
    assert.equal(quiet.tracksPublished, 0);
    assert.equal((await env.nats.connection(gatewayName(env.node1)))?.in_msgs, 0, 'the server got no message from node 1');

    // Bob on node 2 wants alice's tracks: node 1 starts publishing them, once each.
    const bob = await env.peers2.join('m1-bob', 'bob');
    const producers = await producersOf(env.node1, alice);
    assert.deepEqual(producers.map((p) => p.trackId).sort(), [...trackIds].sort());
    await consume(env.node2, bob, producers);
    for (const id of trackIds) await bob.waitForPackets(id, 100);
    const sending = await gateway(env.node1);
    assert.equal(sending.tracksPublished, 2);
    assert.equal(sending.leasesHeld, 2);
    assert.ok(sending.rtpMessagesOut > 0 && sending.rtpPacketsOut >= sending.rtpMessagesOut);
    assert.equal((await gateway(env.node2)).tracksPulled, 2);

    // The last remote subscriber goes: node 1 stops at once (the lease is released, not left to expire).
    await unconsume(env.node2, bob, producers);
    await waitUntil(() => env.node1.node.pool.gatewayStats?.tracksPublished === 0, 3000, 'node 1 to stop publishing');
    await sleep(300);
    assert.equal(await growth(async () => (await gateway(env.node1)).rtpMessagesOut, 1500), 0, 'no RTP to NATS once no node wants it');
    assert.equal((await gateway(env.node2)).tracksPulled, 0);
    assert.ok((await carol.waitForPackets(trackIds[1]!, 1)).packets > 0);
  });

  test('a node pulls a track once whatever the number of its workers forwarding it', async () => {
    const { peer: alice, trackIds } = await publisher('m2', 'alice');
    const bob = await env.peers2.join('m2-bob', 'bob');
    const dave = await env.peers2.join('m2-dave', 'dave');
    assert.notEqual(workerOf(env.node2, bob.participantId), workerOf(env.node2, dave.participantId), 'bob and dave are on different workers of node 2');
    const producers = await producersOf(env.node1, alice);
    await consume(env.node2, bob, producers);
    await consume(env.node2, dave, producers);
    for (const id of trackIds) {
      await bob.waitForPackets(id, 50);
      await dave.waitForPackets(id, 50);
    }
    assert.equal((await gateway(env.node2)).tracksPulled, 2);
    const rtpSubscriptions = (await env.nats.connection(gatewayName(env.node2)))!.subscriptions_list!.filter((s) => s.startsWith('shoal.rtp.'));
    assert.deepEqual(rtpSubscriptions.sort(), trackIds.map((id) => `shoal.rtp.${id}`).sort(), 'one NATS subscription per track');

    // Every message node 1 publishes reaches node 2 once; node 2's two workers share it.
    const out1 = (await gateway(env.node1)).rtpMessagesOut;
    const in2 = (await gateway(env.node2)).rtpMessagesIn;
    await sleep(2000);
    const published = (await gateway(env.node1)).rtpMessagesOut - out1;
    const received = (await gateway(env.node2)).rtpMessagesIn - in2;
    assert.ok(published > 50, `node 1 published ${published} messages`);
    assert.ok(Math.abs(received - published) <= Math.max(5, published * 0.05), `node 2 received ${received} of ${published}: once each, not once per worker`);
    await unconsume(env.node2, bob, producers);
    await unconsume(env.node2, dave, producers);
  });

  test('keyframe requests from another node reach the publisher, coalesced and throttled', async () => {
    const { peer: alice, trackIds } = await publisher('m3', 'alice');
    const bob = await env.peers2.join('m3-bob', 'bob');
    const producers = await producersOf(env.node1, alice);
    await consume(env.node2, bob, producers);
    const video = await bob.waitForPackets(trackIds[1]!, 50);
    const ssrc = alice.published.get('video')!.source.ssrc;
    const plis = () => plisFor(alice.publisherRtcp('video'), ssrc);
    // Past the requests of the consumer's start.
    await sleep(1200);
    const before = plis();
    const bobSsrc = [...video.ssrcs][0]!;
    const started = performance.now();
    for (let i = 0; i < 30; i++) {
      bob.sendSubscriberRtcp(trackIds[1]!, i % 5 === 4 ? buildFir(7, bobSsrc, i) : buildPli(7, bobSsrc));
      await sleep(50);
    }
    await waitUntil(() => plis() > before, 3000, 'a PLI at the publisher');
    await sleep(600);
    const elapsed = performance.now() - started;
    const got = plis() - before;
    // The throttle allows one per 500 ms (keyframeRequestIntervalMs) per hop.
    assert.ok(got >= 1 && got <= Math.ceil(elapsed / 500) + 1, `${got} PLIs at the publisher for 30 requests in ${elapsed.toFixed(0)} ms`);
    await unconsume(env.node2, bob, producers);
  });

  test('a NACK is answered from the subscriber node\'s history, and across NATS only for packets it lacks', async () => {
    const { peer: alice, trackIds } = await publisher('m4', 'alice');
    const bob = await env.peers2.join('m4-bob', 'bob');
    const producers = await producersOf(env.node1, alice);
    await consume(env.node2, bob, producers);
    const videoId = trackIds[1]!;
    const video = await bob.waitForPackets(videoId, 20);
    video.keepPackets = true;
    await waitUntil(() => video.rtp.length >= 3 * NODE2_HISTORY, 5000, 'packets kept');
    const offer = mediaSection((bob.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string }).sdp, video.mid)!;
    const rtxSsrc = Number(attribute(offer.lines, 'ssrc-group')!.split(' ')[2]);
    const mediaSsrc = [...video.ssrcs][0]!;
    const retransmitted = (seq: number, from: number) => video.rtp.slice(from).some((p) => ssrcOf(p) === rtxSsrc && rtxOriginalSequenceNumber(p) === seq);
    /** The sequence number of the latest packet of the stream itself (not an RTX one). */
    const latest = () => sequenceNumber([...video.rtp].reverse().find((p) => ssrcOf(p) === mediaSsrc)!);

    // A packet node 2 still has: answered there, nothing asked of node 1.
    const recent = (latest() - 1) & 0xffff;
    let count = video.rtp.length;
    const asked = (await workers(env.node2)).retransmissionsAsked;
    bob.sendSubscriberRtcp(videoId, buildNack(7, mediaSsrc, [recent]));
    await waitUntil(() => retransmitted(recent, count), 3000, 'the retransmission of a recent packet');
    assert.equal((await workers(env.node2)).retransmissionsAsked, asked, 'node 2 answered from its own history');

    // A packet node 2 no longer has (its history holds 16): asked of node 1 over NATS, then sent.
    const old = (latest() - 3 * NODE2_HISTORY) & 0xffff;
    count = video.rtp.length;
    const before2 = await workers(env.node2);
    const before1 = await workers(env.node1);
    const feedbackBefore = (await gateway(env.node2)).feedbackMessagesOut;
    bob.sendSubscriberRtcp(videoId, buildNack(7, mediaSsrc, [old]));
    await waitUntil(() => retransmitted(old, count), 3000, 'the retransmission of an old packet, through node 1');
    assert.ok((await workers(env.node2)).retransmissionsAsked > before2.retransmissionsAsked, 'node 2 asked node 1');
    assert.ok((await workers(env.node1)).retransmissionsResent > before1.retransmissionsResent, 'node 1 sent it again');
    assert.ok((await gateway(env.node2)).feedbackMessagesOut > feedbackBefore, 'the NACK crossed NATS');
    await unconsume(env.node2, bob, producers);
  });

  test('a media gateway that fails is replaced; media across nodes resumes', async () => {
    const { peer: alice, trackIds } = await publisher('m6', 'alice');
    const bob = await env.peers2.join('m6-bob', 'bob');
    await consume(env.node2, bob, await producersOf(env.node1, alice));
    const atBob = await bob.waitForPackets(trackIds[1]!, 50);
    for (const sfu of [env.node2, env.node1]) {
      const failing = sfu.node.pool.mediaGateway!;
      await failing.request('crash', {});
      await waitUntil(() => sfu.node.pool.mediaGateway !== failing, 5000, 'a replacement gateway');
      await sfu.node.pool.mediaGateway!.ready;
      const packets = atBob.packets;
      await waitUntil(() => atBob.packets >= packets + 50, 5000, `media at bob after ${sfu.node.config.nodeId}'s gateway was replaced`);
    }
  });

  test('NATS restarted: media across nodes resumes within 5 s of NATS being back; media within a node never stops', async (t) => {
    const { peer: alice, trackIds } = await publisher('m5', 'alice');
    const carol = await env.peers1.join('m5', 'carol');
    const bob = await env.peers2.join('m5-bob', 'bob');
    await consume(env.node2, bob, await producersOf(env.node1, alice));
    const videoId = trackIds[1]!;
    const atBob = await bob.waitForPackets(videoId, 50);
    const atCarol = await carol.waitForPackets(videoId, 50);
    atCarol.maxGapMs = 0;

    await env.nats.stop();
    await waitUntil(() => env.node1.node.pool.gatewayStats?.connected === false && env.node2.node.pool.gatewayStats?.connected === false, 5000, 'both gateways to notice');
    // Longer than a lease lives: node 1 forgets bob's, and must learn it again.
    await sleep(4000);
    assert.equal((await gateway(env.node1)).tracksPublished, 0, 'the leases expired during the outage');
    const duringOutage = atBob.packets;
    await sleep(200);
    assert.ok(atBob.packets - duringOutage <= 2, 'no media across nodes without NATS');

    await env.nats.start();
    const back = performance.now();
    const packets = atBob.packets;
    await waitUntil(() => atBob.packets >= packets + 50, 10_000, 'media at bob again');
    const resumedMs = performance.now() - back;
    assert.ok(resumedMs < 5000, `resumed ${resumedMs.toFixed(0)} ms after NATS was back`);
    assert.ok(atCarol.maxGapMs < 500, `carol's largest gap during the outage: ${atCarol.maxGapMs.toFixed(0)} ms`);
    const stats = await gateway(env.node2);
    assert.equal(stats.connected, true);
    assert.ok(stats.reconnects >= 1);
    t.diagnostic(`media across nodes resumed ${resumedMs.toFixed(0)} ms after NATS was back; carol's largest gap ${atCarol.maxGapMs.toFixed(0)} ms`);
  });
});
