import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLIENT_CODECS } from '../../bench/client/media-peer.js';
import { readProbe, RtpSource } from '../../bench/client/rtp-source.js';
import { buildFir, buildNack, buildPli, buildReceiverReport, parseRembBitrate } from '../../media/rtp/rtcp.js';
import { rtxOriginalSequenceNumber } from '../../media/rtp/rtx.js';
import { mediaSection, plisFor, sleep, waitUntil, sfuForThisFile } from '../support/peers.js';

const env = sfuForThisFile({ media: { keyframeRequestIntervalMs: 500 } });

/** The attribute lines of one mid's media section, one per line. */
function section(sdp: string, mid: string): string {
  return mediaSection(sdp, mid)?.lines.join('\n') ?? '';
}

describe('forwarding', { timeout: 60_000 }, () => {
  test('Opus and VP8 travel end to end on one bundled publisher connection', async () => {
    const bob = await env.peers.join('fwd-1', 'bob');
    const { peer: alice, trackIds } = await env.peers.publisher('fwd-1', 'alice');
    const answer = alice.publisher!.remoteDescription()!.sdp;
    assert.match(answer, /a=group:BUNDLE 0 1/);
    assert.equal((answer.match(/a=rtcp-mux/g) ?? []).length, 2);
    const published = bob.signaling.received.filter((e) => e.message === 'trackPublished').map((e) => (e.trackPublished as { track: { codec: string; kind: string } }).track);
    assert.deepEqual(published.map((t) => [t.kind, t.codec]).sort(), [['AUDIO', 'audio/opus'], ['VIDEO', 'video/VP8']]);
    for (const id of trackIds) await bob.waitForPackets(id, 50);
    const offer = (bob.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string }).sdp;
    const [audio, video] = trackIds.map((id) => bob.receivedTrack(id)!);
    assert.match(section(offer, audio!.mid), /a=rtpmap:(\d+) opus\/48000\/2/);
    assert.match(section(offer, video!.mid), /a=rtpmap:(\d+) VP8\/90000/);
    // The payload arrives intact: the probe the publisher wrote is readable.
    video!.keepPackets = true;
    await waitUntil(() => video!.rtp.length > 5, 5000, 'kept packets');
    assert.ok(video!.rtp.every((p) => readProbe(p) !== undefined));
  });

  for (const codec of ['H264', 'VP9'] as const) {
    test(`${codec} passes through when the publisher offers only ${codec}`, async () => {
      const bob = await env.peers.join(`fwd-${codec}`, 'bob');
      const alice = await env.peers.join(`fwd-${codec}`, 'alice');
      const [track] = await alice.publish({ video: codec });
      await alice.waitPublisherConnected();
      alice.startMedia();
      const received = await bob.waitForPackets(track!.trackId, 30);
      const published = await bob.signaling.waitFor((e) => e.message === 'trackPublished');
      assert.equal((published.trackPublished as { track: { codec: string } }).track.codec, `video/${codec}`);
      const sdp = section((bob.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string }).sdp, received.mid);
      const rtpmap = new RegExp(`a=rtpmap:(\\d+) ${codec}/90000`).exec(sdp);
      assert.ok(rtpmap, `subscriber offer carries ${codec}`);
      assert.ok(sdp.includes(`a=fmtp:${rtpmap[1]} ${CLIENT_CODECS[codec].fmtp}`), 'with the publisher\'s fmtp');
      assert.deepEqual([...received.payloadTypes], [Number(rtpmap[1])]);
    });
  }

  test('every subscriber gets its own SSRC and an unbroken sequence', async () => {
    const bob = await env.peers.join('fwd-2', 'bob');
    const carol = await env.peers.join('fwd-2', 'carol');
    const { peer: alice, trackIds } = await env.peers.publisher('fwd-2', 'alice');
    const videoId = trackIds[1]!;
    const atBob = await bob.waitForPackets(videoId, 100);
    const atCarol = await carol.waitForPackets(videoId, 100);
    const publisherSsrc = alice.published.get('video')!.source.ssrc;
    assert.equal(atBob.ssrcs.size, 1);
    assert.equal(atCarol.ssrcs.size, 1);
    const [bobSsrc] = atBob.ssrcs;
    const [carolSsrc] = atCarol.ssrcs;
    assert.notEqual(bobSsrc, publisherSsrc);
    assert.notEqual(bobSsrc, carolSsrc);
    assert.equal(atBob.seqJumps, 0);
    assert.equal(atCarol.seqJumps, 0);
  });

  test('a replaced source keeps the subscriber\'s SSRC, sequence and timestamps continuous', async () => {
    const bob = await env.peers.join('fwd-3', 'bob');
    const alice = await env.peers.join('fwd-3', 'alice');
    // Video only: a single m-line takes packets of any SSRC.
    const [track] = await alice.publish({ video: 'VP8' });
    await alice.waitPublisherConnected();
    alice.startMedia();
    const received = await bob.waitForPackets(track!.trackId, 50);
    received.keepPackets = true;
    await waitUntil(() => received.rtp.length >= 20, 5000, 'packets before the switch');
    const published = alice.published.get('video')!;
    published.source = new RtpSource(published.source.ssrc ^ 0x5a5a5a5a, published.source.payloadType, 90000);
    const before = received.rtp.length;
    await waitUntil(() => received.rtp.length >= before + 50, 5000, 'packets after the switch');
    assert.equal(received.ssrcs.size, 1, 'one SSRC towards the subscriber');
    assert.equal(received.seqJumps, 0, 'sequence numbers continue by one');
    const timestamps = received.rtp.map((p) => p.readUInt32BE(4));
    for (let i = 1; i < timestamps.length; i++) {
      const step = (timestamps[i]! - timestamps[i - 1]! + 0x100000000) % 0x100000000;
      assert.ok(step < 90000, `timestamp step ${step} at ${i} stays small and forward`);
    }
  });

  test('a new subscriber makes the publisher get a keyframe request', async () => {
    const { peer: alice, trackIds } = await env.peers.publisher('fwd-4', 'alice');
    const ssrc = alice.published.get('video')!.source.ssrc;
    await sleep(700);
    const before = plisFor(alice.publisherRtcp('video'), ssrc);
    const bob = await env.peers.join('fwd-4', 'bob');
    await bob.waitForPackets(trackIds[1]!, 5);
    await waitUntil(() => plisFor(alice.publisherRtcp('video'), ssrc) > before, 5000, 'a PLI at the publisher');
  });

  test('a subscriber FIR reaches the publisher as a keyframe request', async () => {
    const bob = await env.peers.join('fwd-5f', 'bob');
    const { peer: alice, trackIds } = await env.peers.publisher('fwd-5f', 'alice');
    const video = await bob.waitForPackets(trackIds[1]!, 10);
    const ssrc = alice.published.get('video')!.source.ssrc;
    await sleep(1000);
    const before = plisFor(alice.publisherRtcp('video'), ssrc);
    const [subscriberSsrc] = video.ssrcs;
    bob.sendSubscriberRtcp(trackIds[1]!, Buffer.concat([buildReceiverReport(99, [subscriberSsrc!]), buildFir(99, subscriberSsrc!, 1)]));
    await waitUntil(() => plisFor(alice.publisherRtcp('video'), ssrc) > before, 3000, 'a keyframe request after the FIR');
  });

  test('subscriber PLI and FIR reach the publisher, coalesced and throttled', async () => {
    const subscribers = await Promise.all(['bob', 'carol', 'dave'].map((name) => env.peers.join('fwd-5', name)));
    const { peer: alice, trackIds } = await env.peers.publisher('fwd-5', 'alice');
    const videoId = trackIds[1]!;
    const tracks = await Promise.all(subscribers.map((s) => s.waitForPackets(videoId, 10)));
    const ssrc = alice.published.get('video')!.source.ssrc;
    await sleep(1000);
    const before = plisFor(alice.publisherRtcp('video'), ssrc);
    // 3 subscribers × 40 requests over 2 s.
    let sent = 0;
    for (let round = 0; round < 40; round++) {
      subscribers.forEach((s, i) => {
        const [subscriberSsrc] = tracks[i]!.ssrcs;
        // FIRs come compounded after a receiver report, as browsers send them.
        const request = round % 2
          ? Buffer.concat([buildReceiverReport(99, [subscriberSsrc!]), buildFir(99, subscriberSsrc!, round)])
          : buildPli(99, subscriberSsrc!);
        if (s.sendSubscriberRtcp(videoId, request)) sent++;
      });
      await sleep(50);
    }
    await sleep(600);
    const got = plisFor(alice.publisherRtcp('video'), ssrc) - before;
    assert.equal(sent, 120);
    // One per 500 ms interval at most: about 2000/500 + 1.
    assert.ok(got >= 3 && got <= 6, `publisher got ${got} keyframe requests for ${sent} sent`);
  });

  test('subscriber NACKs are answered from the retransmission buffer as RTX', async () => {
    const bob = await env.peers.join('fwd-6', 'bob');
    const { trackIds } = await env.peers.publisher('fwd-6', 'alice');
    const video = await bob.waitForPackets(trackIds[1]!, 20);
    video.keepPackets = true;
    await waitUntil(() => video.rtp.length >= 30, 5000, 'packets to NACK');
    const [mediaSsrc] = video.ssrcs;
    const offer = section((bob.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string }).sdp, video.mid);
    const [, main, rtxSsrc] = /a=ssrc-group:FID (\d+) (\d+)/.exec(offer)!.map(Number);
    assert.equal(main, mediaSsrc);
    const rtxPt = Number(/a=rtpmap:(\d+) RTX\/90000/i.exec(offer)![1]);
    const wanted = video.rtp.slice(5, 8);
    const seqs = wanted.map((p) => p.readUInt16BE(2));
    assert.ok(bob.sendSubscriberRtcp(trackIds[1]!, buildNack(99, mediaSsrc!, seqs)));
    const isRtx = (p: Buffer) => p.readUInt32BE(8) === rtxSsrc;
    await waitUntil(() => video.rtp.filter(isRtx).length >= 3, 5000, 'three RTX packets');
    const rtx = video.rtp.filter(isRtx);
    assert.deepEqual(rtx.map(rtxOriginalSequenceNumber).sort(), [...seqs].sort());
    for (const packet of rtx) {
      assert.equal(packet[1]! & 0x7f, rtxPt);
      const original = wanted.find((p) => p.readUInt16BE(2) === rtxOriginalSequenceNumber(packet))!;
      assert.deepEqual(packet.subarray(14), original.subarray(12), 'RTX payload is OSN + original payload');
      assert.equal(packet.readUInt32BE(4), original.readUInt32BE(4), 'same timestamp');
    }
  });

  test('publishers get REMB for their SSRCs at the configured maximum', async () => {
    const { peer: alice } = await env.peers.publisher('fwd-7', 'alice');
    await waitUntil(() => alice.publisherRtcp('video').some((p) => parseRembBitrate(p) !== undefined), 5000, 'a REMB');
    await sleep(1000);
    const rembs = alice.publisherRtcp('video').map(parseRembBitrate).filter((b): b is number => b !== undefined);
    assert.ok(rembs.length >= 3, `${rembs.length} REMBs in ~1 s`);
    const last = rembs.at(-1)!;
    assert.ok(Math.abs(last - 3_000_000) / 3_000_000 < 0.01, `REMB ${last} near the 3 Mbit/s maximum`);
  });
});
