import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { MediaPeer, ReceivedTrack } from '../../bench/client/media-peer.js';
import { readProbe } from '../../bench/client/rtp-source.js';
import { readReportBlocks } from '../../media/rtp/receiver-report.js';
import { timestamp } from '../../media/rtp/rtp-packet.js';
import { buildSenderReport, compactNtp, ntpFromUnixMs, ntpParts, ntpTime, type SenderInfo } from '../../media/rtp/sender-report.js';
import { CLOCK_RATE, ClockedMedia, receivedSenderReports } from '../support/clocked-media.js';
import { sfuForThisFile, sleep, waitUntil } from '../support/peers.js';
import { WhepViewer } from '../support/whip-clients.js';

const env = sfuForThisFile({ workers: 2, roomWorkerCapacity: 2 });
const KINDS = ['audio', 'video'] as const;
/** How far an SR's RTP timestamp may be from its NTP time × clock rate (the sender's rounding and float NTP). */
const MAPPING_TOLERANCE_S = 0.002;

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
  const peer = await env.peers.join(room, identity);
  const tracks = await peer.publish({ audio: true, video: 'VP8' });
  await peer.waitPublisherConnected();
  const media = new ClockedMedia(peer, options).start();
  running.push(media);
  return { peer, media, trackIds: tracks.map((t) => t.trackId) };
}

/** Signed distance between two 32-bit RTP timestamps. */
function tsDelta(from: number, to: number): number {
  return (to - from) | 0;
}

/** Every two consecutive SRs map NTP to RTP at the clock rate. */
function assertConsistent(reports: SenderInfo[], clockRate: number, what: string): void {
  for (let i = 1; i < reports.length; i++) {
    const ticks = tsDelta(reports[i - 1]!.rtpTimestamp, reports[i]!.rtpTimestamp);
    const seconds = ntpTime(reports[i]!) - ntpTime(reports[i - 1]!);
    assert.ok(
      Math.abs(ticks - seconds * clockRate) <= MAPPING_TOLERANCE_S * clockRate,
      `${what}: SRs ${i - 1} and ${i} are ${seconds.toFixed(4)} s apart in NTP but ${ticks} ticks in RTP`,
    );
  }
}

/**
 * The subscriber's SRs of one track against what the publisher sent: its own
 * SSRC, NTP times as the publisher's, RTP timestamps translated by the same
 * offset as its packets, and its own counts.
 */
function checkSubscriberReports(received: ReceivedTrack, media: ClockedMedia, kind: (typeof KINDS)[number], who: string): SenderInfo[] {
  const reports = receivedSenderReports(received);
  const clockRate = CLOCK_RATE[kind];
  const what = `${who}'s ${kind}`;
  assert.equal(received.ssrcs.size, 1, `${what}: one SSRC`);
  const ssrc = [...received.ssrcs][0]!;
  const offset = media.offsetAt(received, kind);
  assert.ok(offset !== undefined, `${what}: a packet known to both sides`);
  for (const report of reports) {
    assert.equal(report.ssrc, ssrc, `${what}: the SR names the subscriber's SSRC`);
    const original = media.senderReports[kind].find((s) => s.ntpSeconds === report.ntpSeconds && s.ntpFraction === report.ntpFraction);
    assert.ok(original, `${what}: the SR carries the NTP time of one the publisher sent`);
    assert.equal(report.rtpTimestamp, (original.rtpTimestamp + offset) >>> 0, `${what}: RTP timestamp translated by the rewriter's offset`);
    assert.ok(report.packetCount > 0, `${what}: packets counted`);
    assert.equal(report.octetCount, report.packetCount * (kind === 'audio' ? 100 : 500), `${what}: payload octets of the packets sent`);
  }
  assertConsistent(reports, clockRate, what);
  // The first SR's timestamp against the packets sent around its NTP time.
  const first = reports[0]!;
  const srUnixMs = (ntpTime(first) - ntpFromUnixMs(0)) * 1000;
  let nearest: { distanceMs: number; ts: number; sentAtMs: number } | undefined;
  for (const packet of received.rtp) {
    const probe = readProbe(packet);
    if (!probe) continue;
    const distanceMs = Math.abs(probe.sentAtMs - srUnixMs);
    if (!nearest || distanceMs < nearest.distanceMs) nearest = { distanceMs, ts: timestamp(packet), sentAtMs: probe.sentAtMs };
  }
  assert.ok(nearest && nearest.distanceMs < 100, `${what}: packets around the first SR`);
  const expected = ((srUnixMs - nearest.sentAtMs) * clockRate) / 1000;
  assert.ok(
    Math.abs(tsDelta(nearest.ts, first.rtpTimestamp) - expected) <= 0.005 * clockRate,
    `${what}: the first SR's timestamp is ${tsDelta(nearest.ts, first.rtpTimestamp)} ticks from a packet sent ${(srUnixMs - nearest.sentAtMs).toFixed(1)} ms before it`,
  );
  return reports;
}

async function receiving(peer: MediaPeer, trackIds: string[]): Promise<ReceivedTrack[]> {
  const tracks: ReceivedTrack[] = [];
  for (const id of trackIds) {
    const track = await peer.waitForPackets(id, 1);
    track.keepPackets = true;
    tracks.push(track);
  }
  return tracks;
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
