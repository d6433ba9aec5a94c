import type { MediaPeer } from '../../bench/client/media-peer.js';
import type { ReceivedTrack } from '../../bench/client/received-track.js';
import { readProbe } from '../../bench/client/rtp-source.js';
import { readSenderReport, type SenderInfo } from '../../media/rtp/sender-report.js';
import { timestamp } from '../../media/rtp/rtp-packet.js';

type Kind = 'audio' | 'video';

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

/** The sender reports a subscriber's track received. */
export function receivedSenderReports(track: ReceivedTrack): SenderInfo[] {
  return track.rtcp.map((packet) => readSenderReport(packet)).filter((info): info is SenderInfo => info !== undefined);
}
