import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import nodeDataChannel, { type DataChannel, type Track } from 'node-datachannel';
import { SignalingClient, type ServerEvent } from '../../bench/client/signaling-client.js';
import { guarded } from '../../media/binding/guard-callbacks.js';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { parseSdp, writeSdp } from '../../media/sdp/sdp.js';
import { mediaSection, sfuForThisFile, sleep, waitUntil } from '../support/peers.js';

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

interface SubscriberOffer {
  sdp: string;
  tracks: Array<{ mid: string; trackId: string }>;
  offerId: number;
}

const offerOf = (event: ServerEvent) => event.subscriberOffer as SubscriberOffer;
const trackIdsOf = (event: ServerEvent) => offerOf(event).tracks.map((t) => t.trackId).sort();

/**
 * A subscriber written against the protocol with a bare node-datachannel
 * connection, without forceMediaTransport and without holding offers: it
 * applies each offer as it comes. Candidates both ways are held back until
 * `connect()`, so the test decides how long the connection stays connecting.
 */
class BareSubscriber {
  readonly offers: Array<{ event: ServerEvent; state: string }> = [];
  readonly packets = new Map<string, number>();
  private readonly pc = new nodeDataChannel.PeerConnection('bare-sub', { iceServers: [], bindAddress: '127.0.0.1' });
  private readonly tracks: Track[] = [];
  private readonly channels: DataChannel[] = [];
  private midToTrack = new Map<string, string>();
  private heldLocal: Array<[string, string]> = [];
  private heldRemote: Array<[string, string]> = [];
  private connecting = false;
  private readonly stopListening: () => void;

  constructor(readonly signaling: SignalingClient) {
    this.pc.onLocalDescription(guarded((sdp, type) => {
      if (type === 'answer') signaling.send({ subscriberAnswer: { sdp, offerId: offerOf(this.offers.at(-1)!.event).offerId } });
    }));
    this.pc.onLocalCandidate(guarded((candidate, mid) => {
      if (this.connecting) signaling.send({ trickle: { target: 2, candidate, sdpMid: mid } });
      else this.heldLocal.push([candidate, mid]);
    }));
    this.pc.onDataChannel(guarded((channel) => this.channels.push(keepUntilClosed(channel))));
    this.pc.onTrack(guarded((track) => {
      this.tracks.push(keepUntilClosed(track));
      const mid = track.mid();
      track.onMessage(() => {
        const trackId = this.midToTrack.get(mid);
        if (trackId) this.packets.set(trackId, (this.packets.get(trackId) ?? 0) + 1);
      });
    }));
    this.stopListening = signaling.onMessage((event) => {
      if (event.message === 'subscriberOffer') this.apply(event);
      if (event.message === 'trickle' && (event.trickle as { target: string }).target === 'SUBSCRIBER') {
        const { candidate, sdpMid } = event.trickle as { candidate: string; sdpMid: string };
        if (this.connecting) this.pc.addRemoteCandidate(candidate, sdpMid);
        else this.heldRemote.push([candidate, sdpMid]);
      }
    });
    // Messages that came with `joined`, before this listener.
    for (const event of signaling.received.filter((e) => e.message === 'subscriberOffer')) this.apply(event);
    for (const event of signaling.received.filter((e) => e.message === 'trickle')) {
      const { candidate, sdpMid } = event.trickle as { candidate: string; sdpMid: string };
      this.heldRemote.push([candidate, sdpMid]);
    }
  }

  state(): string {
    return this.pc.state();
  }

  /** Lets the candidates through: the connection comes up. */
  connect(): void {
    this.connecting = true;
    for (const [candidate, mid] of this.heldRemote.splice(0)) this.pc.addRemoteCandidate(candidate, mid);
    for (const [candidate, mid] of this.heldLocal.splice(0)) this.signaling.send({ trickle: { target: 2, candidate, sdpMid: mid } });
  }

  close(): void {
    this.stopListening();
    for (const track of this.tracks) track.close();
    for (const channel of this.channels) channel.close();
    this.pc.close();
    this.signaling.close();
  }

  private apply(event: ServerEvent): void {
    this.offers.push({ event, state: this.pc.state() });
    const offer = offerOf(event);
    this.midToTrack = new Map(offer.tracks.map((t) => [t.mid, t.trackId]));
    this.pc.setRemoteDescription(offer.sdp, 'offer');
  }
}

describe('the first subscriber offer carries the room; no offer while connecting', { timeout: 60_000 }, () => {
  test('a late joiner\'s first offer names the existing tracks; a track published while it connects comes in one offer once it is connected', async () => {
    const alice = await env.peers.publisher('late-joiner', 'alice');
    const signaling = await SignalingClient.connect(env.sfu.url, 'json');
    const joined = await signaling.request({ join: { room: 'late-joiner', identity: 'bob' } });
    assert.equal(joined.message, 'joined');
    const first = await signaling.waitFor((e) => e.message === 'subscriberOffer');
    assert.deepEqual(trackIdsOf(first), [...alice.trackIds].sort(), 'the first offer carries alice\'s tracks');
    assert.equal(offerOf(first).sdp.match(/^m=(audio|video) [1-9]/gm)?.length, 2, 'with an m-line each');
    const bob = new BareSubscriber(signaling);
    try {
      await waitUntil(() => bob.offers.length === 1 && bob.state() === 'connecting', 10_000, () => `bob answers and connects (${bob.state()})`);
      // Carol publishes while bob's connection is still connecting (his candidates are held back).
      const carol = await env.peers.publisher('late-joiner', 'carol');
      await signaling.waitFor((e) => e.message === 'trackPublished' && carol.trackIds.includes((e.trackPublished as { track: { trackId: string } }).track.trackId));
      // Nothing to wait on for an offer that must not come: give the server a generous moment to (wrongly) send one.
      await sleep(1000);
      assert.equal(bob.offers.length, 1, 'no second offer while the subscriber connection connects');
      assert.equal(bob.state(), 'connecting');

      bob.connect();
      await waitUntil(() => bob.offers.length >= 2, 10_000, () => `a second offer (${bob.state()})`);
      assert.equal(bob.offers[1]!.state, 'connected', 'the second offer came once connected');
      assert.deepEqual(trackIdsOf(bob.offers[1]!.event), [...alice.trackIds, ...carol.trackIds].sort(), 'carol\'s tracks come in that one offer');
      for (const trackId of [...alice.trackIds, ...carol.trackIds]) {
        await waitUntil(() => (bob.packets.get(trackId) ?? 0) >= 20, 10_000, () => `20 packets of ${trackId} at bob (${JSON.stringify([...bob.packets])})`);
      }
      await sleep(300);
      assert.equal(bob.offers.length, 2, 'no further offer');
    } finally {
      bob.close();
    }
  });

  test('a libdatachannel subscriber without forceMediaTransport that does not hold offers receives the room\'s media', async () => {
    const alice = await env.peers.publisher('no-force-media', 'alice');
    const bob = await env.peers.join('no-force-media', 'bob', { forceMediaTransport: false, holdOffers: false });
    for (const trackId of alice.trackIds) await bob.waitForPackets(trackId, 20);
    assert.deepEqual(trackIdsOf(bob.subscriberOffers[0]!), [...alice.trackIds].sort());
    assert.equal(bob.subscriberOffers.length, 1, 'one offer was enough');
  });
});
