import {
  payloadType,
  seqNewer,
  sequenceNumber,
  setPayloadType,
  setSequenceNumber,
  setSsrc,
  setTimestamp,
  ssrc,
  timestamp,
} from './rtp-packet.js';

/** The header fields of a packet as its source sent it. */
export interface SourceHeader {
  ssrc: number;
  payloadType: number;
  seq: number;
  ts: number;
}

/** How long packets of a replaced source count as stragglers (dropped) rather than a new switch. */
const STRAGGLER_WINDOW_MS = 2000;

/**
 * Maps one source stream into one subscriber's RTP space: its own SSRC,
 * payload type, sequence numbers and timestamps. When the source changes
 * (a new SSRC: the publisher rejoined, restarted or was replaced) the
 * subscriber's sequence numbers and timestamps carry on where they were, so
 * its decoder and SRTP context see one continuous stream.
 */
export class RtpRewriter {
  private source: number | undefined;
  /** Replaced sources → when they were replaced. */
  private readonly retired = new Map<number, number>();
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSeq = 0;
  private lastTs = 0;
  private lastAtMs = 0;
  private started = false;

  constructor(
    readonly ssrc: number,
    readonly payloadType: number,
    private readonly clockRate: number,
    initialSeq = Math.floor(Math.random() * 0x10000),
    initialTs = Math.floor(Math.random() * 0x100000000),
  ) {
    this.lastSeq = (initialSeq - 1) & 0xffff;
    this.lastTs = initialTs >>> 0;
  }

  /**
   * Writes this subscriber's SSRC, payload type, sequence number and timestamp
   * into `packet`, computed from `source`, the header as the source sent it
   * (the packet itself may hold another subscriber's values already).
   * Returns false when the packet must not be sent: a straggler of a source that
   * was already replaced.
   */
  rewrite(packet: Uint8Array, source: SourceHeader, nowMs: number): boolean {
    if (source.ssrc !== this.source) {
      const retiredAt = this.retired.get(source.ssrc);
      if (retiredAt !== undefined && nowMs - retiredAt < STRAGGLER_WINDOW_MS) return false;
      this.switchSource(source.ssrc, source.seq, source.ts, nowMs);
    }
    const seq = (source.seq + this.seqOffset) & 0xffff;
    const ts = (source.ts + this.tsOffset) >>> 0;
    if (seqNewer(seq, this.lastSeq)) {
      this.lastSeq = seq;
      this.lastTs = ts;
      this.lastAtMs = nowMs;
    }
    setSsrc(packet, this.ssrc);
    setPayloadType(packet, this.payloadType);
    setSequenceNumber(packet, seq);
    setTimestamp(packet, ts);
    return true;
  }

  /** The source's sequence number for one this rewriter sent, or undefined before any packet. */
  sourceSequenceNumber(outSeq: number): number | undefined {
    return this.source === undefined ? undefined : (outSeq - this.seqOffset) & 0xffff;
  }

  /** A timestamp of the source `sourceSsrc` in this subscriber's space; undefined unless it is the source being forwarded. */
  outputTimestamp(sourceSsrc: number, sourceTs: number): number | undefined {
    return sourceSsrc === this.source ? (sourceTs + this.tsOffset) >>> 0 : undefined;
  }

  /** The SSRC of the source being forwarded now. */
  get sourceSsrc(): number | undefined {
    return this.source;
  }

  /**
   * The stream goes on with another source (an m-line that carries a new
   * track): its first packet starts one, whatever its SSRC, even the last one's.
   */
  forgetSource(): void {
    this.source = undefined;
  }

  /** The last sequence number sent (for tests and stats). */
  get lastSequenceNumber(): number {
    return this.lastSeq;
  }

  private switchSource(inSsrc: number, inSeq: number, inTs: number, nowMs: number): void {
    // Continue one past the last sequence number sent, and advance the clock by
    // the wall time that passed (at least one tick) so timestamps keep rising.
    const elapsedTicks = this.started ? Math.max(1, Math.round(((nowMs - this.lastAtMs) * this.clockRate) / 1000)) : 0;
    this.seqOffset = (this.lastSeq + 1 - inSeq) & 0xffff;
    this.tsOffset = (this.lastTs + elapsedTicks - inTs) >>> 0;
    if (this.source !== undefined) this.retired.set(this.source, nowMs);
    this.retired.delete(inSsrc);
    for (const [ssrc, at] of this.retired) if (nowMs - at >= STRAGGLER_WINDOW_MS) this.retired.delete(ssrc);
    this.source = inSsrc;
    this.started = true;
  }
}

/** Reads the header fields a fan-out overwrites, so the shared packet can be put back afterwards. */
export function readSourceHeader(packet: Uint8Array, into: SourceHeader): void {
  into.ssrc = ssrc(packet);
  into.payloadType = payloadType(packet);
  into.seq = sequenceNumber(packet);
  into.ts = timestamp(packet);
}

export function restoreHeader(packet: Uint8Array, saved: SourceHeader): void {
  setSsrc(packet, saved.ssrc);
  setPayloadType(packet, saved.payloadType);
  setSequenceNumber(packet, saved.seq);
  setTimestamp(packet, saved.ts);
}
