import assert from 'node:assert/strict';
import type { MediaPeer } from '../../bench/client/media-peer.js';
import type { ReceivedTrack } from '../../bench/client/received-track.js';
import { readProbe } from '../../bench/client/rtp-source.js';
import { ntpFromUnixMs, ntpTime, readSenderReport, type SenderInfo } from '../../media/rtp/sender-report.js';
import { timestamp } from '../../media/rtp/rtp-packet.js';

/**
 * Test support for sender and receiver reports: a publisher whose RTP clock
 * and SRs are exact, and the checks of the SRs a subscriber receives.
 */

type Kind = 'audio' | 'video';
export const KINDS = ['audio', 'video'] as const;
/** How far an SR's RTP timestamp may be from its NTP time × clock rate (the sender's rounding and float NTP). */
const MAPPING_TOLERANCE_S = 0.002;

export const CLOCK_RATE: Record<Kind, number> = { audio: 48000, video: 90000 };
const PACKET_INTERVAL_MS: Record<Kind, number> = { audio: 20, video: 33 };
const PAYLOAD_BYTES: Record<Kind, number> = { audio: 100, video: 500 };

/**
 * Drives a MediaPeer's published tracks like a capturing sender: each packet's
 * RTP timestamp is its track's clock at the moment it is sent (one packet per
 * audio frame and per video frame), and a sender report on each track every
 * `srIntervalMs` maps the same clock to NTP time, so the publisher's mapping
 * is exact. `ntpOffsetMs` sets this sender's wall clock apart from the
 * machine's. Remembers the timestamp of every packet (by probe counter) and
 * every SR it sent.
 */
export class ClockedMedia {
  /** Probe counter → RTP timestamp sent, per kind. */
  readonly sent: Record<Kind, Map<number, number>> = { audio: new Map(), video: new Map() };
  readonly senderReports: Record<Kind, SenderInfo[]> = { audio: [], video: [] };
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = performance.now();
  private readonly base: Record<Kind, number>;

  constructor(
    private readonly peer: MediaPeer,
    private readonly options: { srIntervalMs?: number; ntpOffsetMs?: number } = {},
  ) {
    this.base = { audio: this.source('audio').timestamp, video: this.source('video').timestamp };
  }

  start(): this {
    for (const kind of ['audio', 'video'] as const) {
      this.timers.push(setInterval(() => this.sendPacket(kind), PACKET_INTERVAL_MS[kind]));
      this.timers.push(setInterval(() => this.sendSenderReport(kind), this.options.srIntervalMs ?? 500));
    }
    return this;
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  /** The track's RTP time at `now` (performance.now()). */
  timestampAt(kind: Kind, now: number): number {
    return (this.base[kind] + Math.round(((now - this.startedAt) * CLOCK_RATE[kind]) / 1000)) >>> 0;
  }

  sendPacket(kind: Kind): void {
    const source = this.source(kind);
    const step = (this.timestampAt(kind, performance.now()) - source.timestamp) >>> 0;
    if (this.peer.sendRtp(kind, PAYLOAD_BYTES[kind], true, step, kind === 'video')) this.sent[kind].set(source.packetsMade - 1, source.timestamp);
  }

  sendSenderReport(kind: Kind): void {
    const now = performance.now();
    const sent = this.peer.sendSenderReport(kind, this.timestampAt(kind, now), performance.timeOrigin + now + (this.options.ntpOffsetMs ?? 0));
    if (sent) this.senderReports[kind].push(sent);
  }

  /**
   * What the subscriber's RTP timestamps add to this sender's (the offset its
   * consumer's rewriter applies), from a packet both know by its probe.
   */
  offsetAt(received: ReceivedTrack, kind: Kind): number | undefined {
    for (const packet of received.rtp) {
      const probe = readProbe(packet);
      const sentTs = probe && this.sent[kind].get(probe.counter);
      if (sentTs !== undefined) return (timestamp(packet) - sentTs) >>> 0;
    }
    return undefined;
  }

  private source(kind: Kind) {
    const published = this.peer.published.get(kind);
    if (!published) throw new Error(`${this.peer.options.identity} publishes no ${kind}`);
    return published.source;
  }
}

/** Publishes audio and video on a joined peer and sends clocked media with SRs (nothing from its MediaGenerator). */
export async function publishClocked(
  peer: MediaPeer,
  options: { ntpOffsetMs?: number } = {},
): Promise<{ peer: MediaPeer; media: ClockedMedia; trackIds: string[] }> {
  const tracks = await peer.publish({ audio: true, video: 'VP8' });
  await peer.waitPublisherConnected();
  return { peer, media: new ClockedMedia(peer, options).start(), trackIds: tracks.map((t) => t.trackId) };
}

/** The sender reports a subscriber's track received. */
export function receivedSenderReports(track: ReceivedTrack): SenderInfo[] {
  return track.rtcp.map((packet) => readSenderReport(packet)).filter((info): info is SenderInfo => info !== undefined);
}

/** Signed distance between two 32-bit RTP timestamps. */
export function tsDelta(from: number, to: number): number {
  return (to - from) | 0;
}

/** Every two consecutive SRs map NTP to RTP at the clock rate. */
export function assertConsistent(reports: SenderInfo[], clockRate: number, what: string): void {
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
export function checkSubscriberReports(received: ReceivedTrack, media: ClockedMedia, kind: Kind, who: string): SenderInfo[] {
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
  // Each SR's timestamp against the packet sent nearest its NTP time (SRs from before the
  // subscriber kept packets have none near them).
  const sent = received.rtp.flatMap((packet) => {
    const probe = readProbe(packet);
    return probe ? [{ ts: timestamp(packet), sentAtMs: probe.sentAtMs }] : [];
  });
  let checked = 0;
  for (const report of reports) {
    const srUnixMs = (ntpTime(report) - ntpFromUnixMs(0)) * 1000;
    let nearest: { ts: number; sentAtMs: number } | undefined;
    for (const packet of sent) if (!nearest || Math.abs(packet.sentAtMs - srUnixMs) < Math.abs(nearest.sentAtMs - srUnixMs)) nearest = packet;
    if (!nearest || Math.abs(nearest.sentAtMs - srUnixMs) >= 100) continue;
    const expected = ((srUnixMs - nearest.sentAtMs) * clockRate) / 1000;
    assert.ok(
      Math.abs(tsDelta(nearest.ts, report.rtpTimestamp) - expected) <= 0.005 * clockRate,
      `${what}: an SR's timestamp is ${tsDelta(nearest.ts, report.rtpTimestamp)} ticks from a packet sent ${(srUnixMs - nearest.sentAtMs).toFixed(1)} ms before it`,
    );
    checked++;
  }
  assert.ok(checked >= 2, `${what}: ${checked} SRs with packets sent around them`);
  return reports;
}

export async function receiving(peer: MediaPeer, trackIds: string[]): Promise<ReceivedTrack[]> {
  const tracks: ReceivedTrack[] = [];
  for (const id of trackIds) {
    const track = await peer.waitForPackets(id, 1, 20_000);
    track.keepPackets = true;
    tracks.push(track);
  }
  return tracks;
}
