import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import nodeDataChannel, { type PeerConnection } from 'node-datachannel';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { SignalingClient, type ServerEvent } from '../../bench/client/signaling-client.js';
import { publisherOfferSdp } from '../support/hostile.js';
import { errorCode, sfuForThisFile, sleep, waitUntil } from '../support/peers.js';

const CONNECT_TIMEOUT_MS = 1500;
const env = sfuForThisFile({ workers: 1, media: { connectTimeoutMs: CONNECT_TIMEOUT_MS } });

/**
 * A client whose subscriber connections complete ICE but never DTLS: it tells
 * its own stack the server is the DTLS client and tells the server it is the
 * DTLS client itself, so both sides wait for the other's first DTLS message.
 * (Before the connect timeout such a connection stayed "connecting" for ever.)
 */
async function dtlsWithholdingSubscriber(room: string, identity: string): Promise<{ client: SignalingClient; close(): void }> {
  const client = await SignalingClient.connect(env.sfu.url);
  const connections: PeerConnection[] = [];
  let pc: PeerConnection | undefined;
  client.onMessage((event) => {
    if (event.message === 'trickle') {
      const { candidate, sdpMid } = event.trickle as { candidate: string; sdpMid: string };
      try {
        pc?.addRemoteCandidate(candidate, sdpMid);
      } catch {
        // Arrived before the offer: the offer's own candidates will do.
      }
    }
    if (event.message !== 'subscriberOffer') return;
    const offer = event.subscriberOffer as { sdp: string; offerId: number };
    const current: PeerConnection = new nodeDataChannel.PeerConnection('no-dtls', { iceServers: [], bindAddress: '127.0.0.1', forceMediaTransport: true });
    pc = current;
    connections.push(current);
    current.onTrack((track) => keepUntilClosed(track));
    current.onDataChannel((channel) => keepUntilClosed(channel));
    current.onLocalCandidate((candidate, mid) => client.send({ trickle: { target: 2, candidate, sdpMid: mid } }));
    current.onLocalDescription((sdp, type) => {
      if (type === 'answer') client.send({ subscriberAnswer: { sdp: sdp.replace(/a=setup:passive/g, 'a=setup:active'), offerId: offer.offerId } });
    });
    current.setRemoteDescription(offer.sdp.replace(/a=setup:actpass/g, 'a=setup:active'), 'offer');
  });
  assert.equal((await client.request({ join: { room, identity } })).message, 'joined');
  return {
    client,
    close: () => {
      for (const connection of connections) connection.close();
      client.close();
    },
  };
}

const offers = (client: SignalingClient) => client.received.filter((e) => e.message === 'subscriberOffer');
const restarts = (client: SignalingClient) => offers(client).filter((e) => (e.subscriberOffer as { restart: boolean }).restart).length;
const connectionFailed = (e: ServerEvent) => errorCode(e) === 'CONNECTION_FAILED';

describe(`connections that never come up are failed after ${CONNECT_TIMEOUT_MS} ms`, { timeout: 60_000 }, () => {
  test('a subscriber connection that never completes DTLS is restarted three times, then closed and reported', async () => {
    const { trackIds } = await env.peers.publisher('silent-sub', 'alice');
    const startedAt = performance.now();
    const withholding = await dtlsWithholdingSubscriber('silent-sub', 'mallory');
    const mallory = withholding.client;
    const failed = await mallory.waitFor(connectionFailed, 4 * CONNECT_TIMEOUT_MS + 10_000, 'CONNECTION_FAILED');
    const elapsed = performance.now() - startedAt;
    assert.match((failed.error as { message: string }).message, /subscriber connection/);
    assert.equal(restarts(mallory), 3, 'three new connections were offered first');
    assert.ok(elapsed >= 4 * CONNECT_TIMEOUT_MS, `reported after ${elapsed.toFixed(0)} ms: four connections, each given the timeout`);
    // Closed for good: no more offers; the participant stays in the room and its socket works.
    const offersThen = offers(mallory).length;
    await sleep(2 * CONNECT_TIMEOUT_MS);
    assert.equal(offers(mallory).length, offersThen);
    assert.equal((await mallory.request({ data: { text: 'still here', toIdentities: ['alice'] } }, 2000).catch(() => undefined)), undefined, 'no error for data');
    // Honest clients connect within the same timeout.
    const bob = await env.peers.join('silent-sub', 'bob');
    for (const id of trackIds) await bob.waitForPackets(id, 20);
    withholding.close();
  });

  test('a publisher connection that never connects (no ICE, no DTLS) is closed and its tracks unpublished', async () => {
    const watcher = await env.peers.join('silent-pub', 'watcher');
    const mallory = await SignalingClient.connect(env.sfu.url);
    assert.equal((await mallory.request({ join: { room: 'silent-pub', identity: 'mallory' } })).message, 'joined');
    // A real offer from a connection closed right after: the server answers it, then hears nothing.
    const reply = await mallory.request({ publishOffer: { sdp: await publisherOfferSdp() } });
    assert.equal(reply.message, 'publishAnswer');
    const tracks = (reply.publishAnswer as { tracks: Array<{ trackId: string }> }).tracks;
    const failed = await mallory.waitFor(connectionFailed, CONNECT_TIMEOUT_MS + 5000, 'CONNECTION_FAILED');
    assert.match((failed.error as { message: string }).message, /publisher connection/);
    for (const { trackId } of tracks) {
      await watcher.signaling.waitFor((e) => e.message === 'trackUnpublished' && (e.trackUnpublished as { trackId: string }).trackId === trackId, 5000);
    }
    mallory.close();
  });

  test('a client that never answers its subscriber offer (signaling only) is left alone', async () => {
    const quiet = await SignalingClient.connect(env.sfu.url);
    assert.equal((await quiet.request({ join: { room: 'quiet', identity: 'quiet' } })).message, 'joined');
    await waitUntil(() => offers(quiet).length === 1, 5000, 'the first offer');
    await sleep(2 * CONNECT_TIMEOUT_MS);
    assert.deepEqual(quiet.received.filter((e) => e.message === 'error'), []);
    assert.equal(offers(quiet).length, 1, 'no restart');
    quiet.close();
  });
});
