/**
 * RTCP receiver reports (RFC 3550 sections 6.4.1, 6.4.2 and appendix A.3, A.8)
 * about the streams a publisher sends: loss, jitter, and the echo of its last
 * SR from which it computes its round-trip time.
 */
import { compactNtp, type SenderInfo } from './sender-report.js';
import { forEachRtcpPacket, RTCP_RR, RTCP_SR } from './rtcp.js';
import { seqDelta, sequenceNumber, ssrc as ssrcOf, timestamp } from './rtp-packet.js';

/** One report block: what a receiver says about one SSRC it receives. */
export interface ReportBlock {
  ssrc: number;
  /** Share of the packets expected since the last report that were lost, in 1/256. */
  fractionLost: number;
  /** Packets lost since reception began (24 bits, signed: duplicates can make it negative). */
  cumulativeLost: number;
  /** Cycles of the sequence number in the high 16 bits, the highest sequence number received in the low. */
  extendedHighestSeq: number;
  /** Interarrival jitter, in RTP timestamp units. */
  jitter: number;
  /** The middle 32 bits of the NTP time of the last SR received (0: none yet). */
  lastSr: number;
  /** Time since that SR arrived, in 1/65536 s (0: none yet). */
  delaySinceLastSr: number;
}

const REPORT_BLOCK_SIZE = 24;
/** Report blocks one RR carries at most (the 5-bit count). */
export const MAX_REPORT_BLOCKS = 31;
const MAX_CUMULATIVE_LOST = 0x7fffff;
const MIN_CUMULATIVE_LOST = -0x800000;

/** A Receiver Report (RFC 3550 6.4.2) with these blocks (at most MAX_REPORT_BLOCKS are written). */
export function buildReceiverReportBlocks(senderSsrc: number, blocks: readonly ReportBlock[]): Buffer {
  const count = Math.min(blocks.length, MAX_REPORT_BLOCKS);
  const b = Buffer.alloc(8 + REPORT_BLOCK_SIZE * count);
  b[0] = 0x80 | count;
  b[1] = RTCP_RR;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  for (let i = 0; i < count; i++) {
    const block = blocks[i]!;
    const o = 8 + REPORT_BLOCK_SIZE * i;
    b.writeUInt32BE(block.ssrc >>> 0, o);
    b[o + 4] = block.fractionLost & 0xff;
    b.writeIntBE(Math.max(MIN_CUMULATIVE_LOST, Math.min(MAX_CUMULATIVE_LOST, block.cumulativeLost)), o + 5, 3);
    b.writeUInt32BE(block.extendedHighestSeq >>> 0, o + 8);
    b.writeUInt32BE(block.jitter >>> 0, o + 12);
    b.writeUInt32BE(block.lastSr >>> 0, o + 16);
    b.writeUInt32BE(block.delaySinceLastSr >>> 0, o + 20);
  }
  return b;
}

/** The report blocks of every RR and SR in a compound RTCP packet, with the SSRC of the report's sender. */
export function readReportBlocks(rtcp: Uint8Array): Array<ReportBlock & { reporter: number }> {
  const blocks: Array<ReportBlock & { reporter: number }> = [];
  const view = Buffer.from(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength);
  forEachRtcpPacket(rtcp, (pt, count, start, end) => {
    if ((pt !== RTCP_RR && pt !== RTCP_SR) || end - start < 8) return;
    const reporter = view.readUInt32BE(start + 4);
    let o = start + (pt === RTCP_SR ? 28 : 8);
    for (let i = 0; i < count && o + REPORT_BLOCK_SIZE <= end; i++, o += REPORT_BLOCK_SIZE) {
      blocks.push({
        reporter,
        ssrc: view.readUInt32BE(o),
        fractionLost: view[o + 4]!,
        cumulativeLost: view.readIntBE(o + 5, 3),
        extendedHighestSeq: view.readUInt32BE(o + 8),
        jitter: view.readUInt32BE(o + 12),
        lastSr: view.readUInt32BE(o + 16),
        delaySinceLastSr: view.readUInt32BE(o + 20),
      });
    }
  });
  return blocks;
}

/**
 * What a receiver knows about one incoming stream, for its report blocks:
 * the extended highest sequence number and the loss derived from it, the
 * interarrival jitter, and the last SR. Follows one SSRC: the one given, or
 * else the first seen, and a new one when the stream's SSRC changes.
 */
export class ReceptionReport {
  private ssrc: number | undefined;
  private readonly fixedSsrc: boolean;
  private baseSeq = 0;
  private highestSeq = -1;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private jitter = 0;
  private lastTransit = 0;
  private lastTimestamp = -1;
  private lastSr = 0;
  private lastSrAtMs = 0;

  constructor(
    private readonly clockRate: number,
    ssrc?: number,
  ) {
    this.ssrc = ssrc;
    this.fixedSsrc = ssrc !== undefined;
  }

  /** Counts an RTP packet that arrived at `arrivalMs` (a monotonic clock in ms). */
  onPacket(packet: Uint8Array, arrivalMs: number): void {
    const ssrc = ssrcOf(packet);
    if (ssrc !== this.ssrc) {
      if (this.fixedSsrc) return;
      this.restart(ssrc);
    }
    const seq = sequenceNumber(packet);
    this.received++;
    if (this.highestSeq < 0) {
      this.baseSeq = seq;
      this.highestSeq = seq;
    } else {
      const delta = seqDelta(this.highestSeq, seq);
      if (delta <= 0) return;
      if (seq < this.highestSeq) this.cycles += 0x10000;
      this.highestSeq = seq;
    }
    // Jitter from packets in order that start a new frame (those of one frame share a timestamp, not a send time).
    const ts = timestamp(packet);
    if (ts === this.lastTimestamp) return;
    const transit = (arrivalMs * this.clockRate) / 1000 - ts;
    if (this.lastTimestamp >= 0) {
      // The timestamps' distance taken signed and on 32 bits, so a wrap of the RTP clock costs nothing.
      const d = Math.abs(transit - this.lastTransit - (((ts - this.lastTimestamp) | 0) - (ts - this.lastTimestamp)));
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.lastTimestamp = ts;
  }

  /** The stream's SR arrived at `arrivalMs`: the next reports echo it. */
  onSenderReport(info: SenderInfo, arrivalMs: number): void {
    if (info.ssrc !== this.ssrc) return;
    this.lastSr = compactNtp(info);
    this.lastSrAtMs = arrivalMs;
  }

  /** The report block for now (undefined before the first packet); the loss fraction covers the time since the last one. */
  report(nowMs: number): ReportBlock | undefined {
    if (this.ssrc === undefined || this.highestSeq < 0) return undefined;
    const extended = this.cycles + this.highestSeq;
    const expected = extended - this.baseSeq + 1;
    const expectedInterval = expected - this.expectedPrior;
    const lostInterval = expectedInterval - (this.received - this.receivedPrior);
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval > 0 && lostInterval > 0 ? Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)) : 0,
      cumulativeLost: expected - this.received,
      extendedHighestSeq: extended,
      jitter: Math.floor(this.jitter),
      lastSr: this.lastSr,
      delaySinceLastSr: this.lastSr === 0 ? 0 : Math.max(0, Math.round(((nowMs - this.lastSrAtMs) * 65536) / 1000)),
    };
  }

  private restart(ssrc: number): void {
    this.ssrc = ssrc;
    this.highestSeq = -1;
    this.cycles = 0;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.jitter = 0;
    this.lastTimestamp = -1;
    this.lastSr = 0;
  }
}
