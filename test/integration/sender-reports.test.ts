import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { readReportBlocks } from '../../media/rtp/receiver-report.js';
import { buildSenderReport, compactNtp, ntpFromUnixMs, ntpParts } from '../../media/rtp/sender-report.js';
import {
  assertConsistent,
  checkSubscriberReports,
  CLOCK_RATE,
  type ClockedMedia,
  KINDS,
  publishClocked,
  receivedSenderReports,
  receiving,
} from '../support/clocked-media.js';
import { sfuForThisFile, sleep, waitUntil } from '../support/peers.js';
import { WhepViewer } from '../support/whip-clients.js';

const env = sfuForThisFile({ workers: 2, roomWorkerCapacity: 2 });

const running: ClockedMedia[] = [];
const viewers: WhepViewer[] = [];
afterEach(async () => {
  for (const media of running.splice(0)) media.stop();
  await Promise.all(viewers.map((viewer) => viewer.delete().catch(() => 0)));
  for (const viewer of viewers.splice(0)) viewer.close();
});

function workerOf(participantId: string): number {
  for (const room of env.sfu.node.rooms.dump()) {
    const p = room.participants.find((x) => x.participantId === participantId);
    if (p) return p.workerId;
  }
  throw new Error(`participant ${participantId} not found`);
}

/** Joins, publishes audio and video, and sends clocked media with SRs (nothing from the MediaGenerator). */
async function clockedPublisher(room: string, identity: string, options: { ntpOffsetMs?: number } = {}) {
  const published = await publishClocked(await env.peers.join(room, identity), options);
  running.push(published.media);
  return published;
}

describe('sender and receiver reports', { timeout: 90_000 }, () => {
  test("subscribers on the publisher's worker and on another get SRs with their own SSRC, mapping NTP to their RTP timestamps as the publisher's do", async () => {
    const { peer: alice, media, trackIds } = await clockedPublisher('sr-1', 'alice');
    const bob = await env.peers.join('sr-1', 'bob');
    const carol = await env.peers.join('sr-1', 'carol');
    assert.equal(workerOf(bob.participantId), workerOf(alice.participantId), 'bob on the publisher\'s worker');
    assert.notEqual(workerOf(carol.participantId), workerOf(alice.participantId), 'carol on the other worker');
    const subscribers = { bob: await receiving(bob, trackIds), carol: await receiving(carol, trackIds) };
    for (const [who, tracks] of Object.entries(subscribers)) {
      for (const track of tracks) await waitUntil(() => receivedSenderReports(track).length >= 3, 15_000, `3 SRs on ${who}'s ${track.mid}`);
      KINDS.forEach((kind, i) => checkSubscriberReports(tracks[i]!, media, kind, who));
    }
  });

  test('the publisher gets receiver reports for each SSRC it sends: LSR echoes its SR, loss counts skipped sequence numbers', async () => {
    const { peer: alice, media } = await clockedPublisher('rr-1', 'alice');
    const blocksOf = (kind: 'audio' | 'video') => {
      const ssrc = alice.published.get(kind)!.source.ssrc;
      return alice.publisherRtcp(kind).flatMap((packet) => readReportBlocks(packet)).filter((block) => block.ssrc === ssrc);
    };
    for (const kind of KINDS) {
      await waitUntil(() => blocksOf(kind).some((b) => b.lastSr !== 0), 10_000, `an RR echoing an SR on ${kind}`);
      const block = blocksOf(kind).filter((b) => b.lastSr !== 0).at(-1)!;
      const echoed = media.senderReports[kind].find((sr) => compactNtp(sr) === block.lastSr);
      assert.ok(echoed, `${kind}: LSR ${block.lastSr.toString(16)} is the middle of an SR the publisher sent`);
      assert.ok(block.delaySinceLastSr > 0 && block.delaySinceLastSr < 3 * 65536, `${kind}: DLSR ${block.delaySinceLastSr / 65536} s`);
      assert.ok(block.jitter < 0.1 * CLOCK_RATE[kind], `${kind}: jitter ${block.jitter} ticks`);
      assert.equal(block.reporter, 1, 'sent by the SFU');
    }

    // Ten audio packets never sent: the next reports count them.
    const audio = () => blocksOf('audio');
    const lostBefore = audio().at(-1)!.cumulativeLost;
    const seenBefore = audio().length;
    alice.published.get('audio')!.source.skipSequenceNumbers(10);
    await waitUntil(() => audio().length >= seenBefore + 2, 10_000, 'two more receiver reports');
    const after = audio().slice(seenBefore);
    assert.equal(after.at(-1)!.cumulativeLost, lostBefore + 10, 'cumulative loss');
    assert.ok(after.some((b) => b.fractionLost > 0), `a loss fraction (${after.map((b) => b.fractionLost).join(', ')})`);
    assert.ok(after.at(-1)!.extendedHighestSeq > audio()[seenBefore - 1]!.extendedHighestSeq + 10, 'highest sequence number moves on');
  });

  test('an SR storm reaches subscribers at most four a second; SRs of other SSRCs and malformed ones never do', async () => {
    const { peer: alice, media, trackIds } = await clockedPublisher('sr-storm', 'alice');
    const bob = await env.peers.join('sr-storm', 'bob');
    const [audio] = await receiving(bob, trackIds);
    await waitUntil(() => receivedSenderReports(audio!).length >= 1, 10_000, 'the first SR');
    media.stop();
    const published = alice.published.get('audio')!;
    const send = (packet: Buffer) => published.track.sendMessageBinary(packet);
    const base = performance.timeOrigin + performance.now();
    const before = receivedSenderReports(audio!).length;
    const startedAt = performance.now();
    for (let i = 0; i < 300; i++) {
      const info = { ssrc: published.source.ssrc, ...ntpParts(ntpFromUnixMs(base + i)), rtpTimestamp: i * 48, packetCount: 0, octetCount: 0 };
      send(buildSenderReport(info));
      send(buildSenderReport({ ...info, ssrc: published.source.ssrc ^ 1 }));
      send(buildSenderReport(info).subarray(0, 20));
      if (i % 50 === 0) await sleep(100);
    }
    await sleep(500);
    const elapsedS = (performance.now() - startedAt) / 1000;
    const forwarded = receivedSenderReports(audio!).slice(before);
    assert.ok(forwarded.length <= Math.ceil(elapsedS * 4) + 1, `${forwarded.length} SRs forwarded in ${elapsedS.toFixed(1)} s`);
    assert.ok(forwarded.length >= 1, 'the gate lets some through');
    // Media goes on.
    const packets = audio!.packets;
    media.start();
    await waitUntil(() => audio!.packets > packets + 10, 5000, 'audio after the storm');
  });

  test('a WHEP viewer gets SRs, one NTP clock across a switch to a publisher whose wall clock is 500 s behind', async () => {
    const first = await clockedPublisher('sr-whep', 'first');
    const viewer = await WhepViewer.view(`${env.sfu.httpUrl}/whep/sr-whep`);
    viewers.push(viewer);
    const video = await viewer.waitForPackets('video', 1);
    await waitUntil(() => receivedSenderReports(video).length >= 2, 10_000, 'SRs at the viewer');
    first.media.stop();
    first.peer.close();
    const before = receivedSenderReports(video).length;
    await clockedPublisher('sr-whep', 'second', { ntpOffsetMs: -500_000 });
    await waitUntil(() => receivedSenderReports(video).length >= before + 3, 15_000, 'SRs of the second publisher');
    const reports = receivedSenderReports(video);
    assert.equal(new Set(reports.map((r) => r.ssrc)).size, 1, 'one SSRC');
    assert.ok(reports.every((r) => video.ssrcs.has(r.ssrc)), 'the SSRC of the viewer\'s video');
    assertConsistent(reports, CLOCK_RATE.video, 'the viewer\'s video');
  });
});
