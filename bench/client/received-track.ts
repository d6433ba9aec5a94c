import type { Track } from 'node-datachannel';
import { buildNack, buildPli } from '../../media/rtp/rtcp.js';
import { isRtcp, payloadType, seqDelta, sequenceNumber, ssrc as ssrcOf } from '../../media/rtp/rtp-packet.js';
import { rtxOriginalSequenceNumber } from '../../media/rtp/rtx.js';
import { readProbe } from './rtp-source.js';
import { type LatencyHistogram, StreamReceiver } from './stream-stats.js';

/** The SSRC this client puts in the sender field of its RTCP. */
const CLIENT_RTCP_SSRC = 0x5eed;
/** A lost packet not recovered this long after its NACK means the picture is broken: ask for a keyframe. */
const RECOVERY_TIMEOUT_MS = 250;
/** No keyframe this long after the first packet: ask for one. */
const FIRST_KEYFRAME_TIMEOUT_MS = 1000;
const MIN_PLI_GAP_MS = 1000;

/**
 * One track arriving on a subscriber connection: counts what comes (tests
 * look at SSRCs, payload types and sequence numbers), measures it from the
 * packets' probes, and, with `feedback` on a video track, behaves like a video
 * receiver: a NACK for every sequence gap, a PLI when it has no keyframe to
 * decode from. (Audio is not repaired: browsers do not NACK Opus, and the SFU
 * keeps no audio history.)
 */
export class ReceivedTrack {
  packets = 0;
  bytes = 0;
  readonly ssrcs = new Set<number>();
  readonly payloadTypes = new Set<number>();
  lastSeq = -1;
  /** Sequence numbers (of the media stream) that did not follow the previous one. */
  seqJumps = 0;
  lastPacketAt = 0;
  /** Largest gap between two packets, ms. */
  maxGapMs = 0;
  retransmissions = 0;
  nacksSent = 0;
  plisSent = 0;
  readonly rtcp: Buffer[] = [];
  readonly rtp: Buffer[] = [];
  keepPackets = false;
  readonly stream: StreamReceiver;
  private mediaSsrc: number | undefined;
  private firstPacketAt: number | undefined;
  private lastKeyframeAt: number | undefined;
  private lastPliAt = -Infinity;
  /** Sequence numbers NACKed and not recovered yet → when, oldest first. */
  private readonly missing = new Map<number, number>();
  /** Sends NACKs and PLIs: `feedback` on a video track. */
  private readonly repairs: boolean;

  constructor(
    readonly trackId: string,
    readonly mid: string,
    readonly track: Track,
    latency: LatencyHistogram,
    /** The RTX SSRC of this m-line, when the offer signalled one. */
    private readonly rtxSsrc: number | undefined,
    feedback: boolean,
    video: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.stream = new StreamReceiver(latency);
    this.repairs = feedback && video;
  }

  /** Zero the measurement counters (start of a benchmark window). */
  resetStats(): void {
    this.stream.reset();
    this.nacksSent = 0;
    this.plisSent = 0;
    this.retransmissions = 0;
  }

  onPacket(packet: Buffer): void {
    if (isRtcp(packet)) {
      this.rtcp.push(packet);
      return;
    }
    const now = this.now();
    if (this.lastPacketAt > 0) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastPacketAt);
    this.lastPacketAt = now;
    this.firstPacketAt ??= now;
    this.packets++;
    this.bytes += packet.length;
    this.payloadTypes.add(payloadType(packet));
    const ssrc = ssrcOf(packet);
    this.ssrcs.add(ssrc);
    if (this.keepPackets) this.rtp.push(packet);
    const rtx = ssrc === this.rtxSsrc;
    const probe = readProbe(packet, rtx);
    if (probe) {
      this.stream.onProbe(probe, performance.timeOrigin + now);
      if (probe.keyframe) this.lastKeyframeAt = now;
    }
    if (rtx) {
      this.retransmissions++;
      this.missing.delete(rtxOriginalSequenceNumber(packet));
      return;
    }
    this.mediaSsrc = ssrc;
    const seq = sequenceNumber(packet);
    if (this.lastSeq >= 0) {
      const delta = seqDelta(this.lastSeq, seq);
      if (delta !== 1) this.seqJumps++;
      if (delta > 1 && delta < 64 && this.repairs) this.nack(seq, delta, now);
      if (delta > 0) this.lastSeq = seq;
      this.missing.delete(seq);
    } else {
      this.lastSeq = seq;
    }
    if (this.repairs) this.checkPicture(now);
  }

  private nack(seq: number, delta: number, now: number): void {
    const lost: number[] = [];
    for (let i = delta - 1; i >= 1; i--) {
      const s = (seq - i) & 0xffff;
      lost.push(s);
      this.missing.set(s, now);
    }
    if (this.sendRtcp(buildNack(CLIENT_RTCP_SSRC, this.mediaSsrc!, lost))) this.nacksSent++;
  }

  /** A PLI when there is no keyframe yet, or a loss was not repaired in time (at most one a second). */
  private checkPicture(now: number): void {
    // Runs for every packet: only the oldest loss (the map's first entry) needs looking at.
    const oldest: number | undefined = this.missing.values().next().value;
    const broken =
      (this.lastKeyframeAt === undefined && now - this.firstPacketAt! > FIRST_KEYFRAME_TIMEOUT_MS) ||
      (oldest !== undefined && now - oldest >= RECOVERY_TIMEOUT_MS);
    if (!broken || now - this.lastPliAt < MIN_PLI_GAP_MS || this.mediaSsrc === undefined) return;
    this.lastPliAt = now;
    // The keyframe asked for replaces what the unrepaired packets were needed for.
    for (const [seq, at] of this.missing) {
      if (now - at < RECOVERY_TIMEOUT_MS) break;
      this.missing.delete(seq);
    }
    if (this.sendRtcp(buildPli(CLIENT_RTCP_SSRC, this.mediaSsrc))) this.plisSent++;
  }

  private sendRtcp(packet: Buffer): boolean {
    try {
      return this.track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }
}
