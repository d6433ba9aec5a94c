/**
 * RTCP sender reports (RFC 3550 section 6.4.1): reading a publisher's, and
 * the per-subscriber rewrite that lets a subscriber map its RTP timestamps to
 * the publisher's wall clock (what browsers synchronise audio and video by).
 */
import { forEachRtcpPacket, readU32, RTCP_SR } from './rtcp.js';
import { payloadOffset } from './rtp-packet.js';

/** Header, sender SSRC and sender info: an SR with no report blocks. */
export const SENDER_REPORT_SIZE = 28;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_POW_32 = 0x1_0000_0000;

/** The sender info of an SR. */
export interface SenderInfo {
  ssrc: number;
  /** NTP timestamp: whole seconds since 1900 and the fraction, in 1/2^32 s. */
  ntpSeconds: number;
  ntpFraction: number;
  /** The RTP timestamp that corresponds to the NTP time, in the sender's RTP space. */
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

/**
 * The sender info of the first SR of a compound RTCP packet that has `ssrc`
 * as its sender (any SSRC when undefined), or undefined. A packet shorter than
 * the sender info or running past the buffer is not read.
 */
export function readSenderReport(rtcp: Uint8Array, ssrc?: number): SenderInfo | undefined {
  let found: SenderInfo | undefined;
  forEachRtcpPacket(rtcp, (pt, _count, start, end) => {
    if (found || pt !== RTCP_SR || end - start < SENDER_REPORT_SIZE) return;
    const sender = readU32(rtcp, start + 4);
    if (ssrc !== undefined && sender !== ssrc) return;
    found = {
      ssrc: sender,
      ntpSeconds: readU32(rtcp, start + 8),
      ntpFraction: readU32(rtcp, start + 12),
      rtpTimestamp: readU32(rtcp, start + 16),
      packetCount: readU32(rtcp, start + 20),
      octetCount: readU32(rtcp, start + 24),
    };
  });
  return found;
}

/** An SR with no report blocks (a sender that receives nothing on this stream). */
export function buildSenderReport(info: SenderInfo): Buffer {
  const b = Buffer.alloc(SENDER_REPORT_SIZE);
  b[0] = 0x80;
  b[1] = RTCP_SR;
  b.writeUInt16BE(SENDER_REPORT_SIZE / 4 - 1, 2);
  b.writeUInt32BE(info.ssrc >>> 0, 4);
  b.writeUInt32BE(info.ntpSeconds >>> 0, 8);
  b.writeUInt32BE(info.ntpFraction >>> 0, 12);
  b.writeUInt32BE(info.rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(info.packetCount >>> 0, 20);
  b.writeUInt32BE(info.octetCount >>> 0, 24);
  return b;
}

/** The NTP time of an SR in seconds (a double: about a microsecond of resolution). */
export function ntpTime(info: Pick<SenderInfo, 'ntpSeconds' | 'ntpFraction'>): number {
  return info.ntpSeconds + info.ntpFraction / TWO_POW_32;
}

/** NTP seconds and fraction of a time in seconds since 1900. */
export function ntpParts(seconds: number): { ntpSeconds: number; ntpFraction: number } {
  const whole = Math.floor(seconds);
  return { ntpSeconds: whole >>> 0, ntpFraction: Math.min(TWO_POW_32 - 1, Math.round((seconds - whole) * TWO_POW_32)) };
}

/** The NTP time (seconds since 1900) of a Unix time in ms. */
export function ntpFromUnixMs(unixMs: number): number {
  return unixMs / 1000 + NTP_UNIX_OFFSET_S;
}

/** The middle 32 bits of an NTP timestamp, as an RR's LSR field carries it (RFC 3550 6.4.1). */
export function compactNtp(info: Pick<SenderInfo, 'ntpSeconds' | 'ntpFraction'>): number {
  return (((info.ntpSeconds & 0xffff) << 16) | (info.ntpFraction >>> 16)) >>> 0;
}

/** Fewest ms between two SRs of one track that are forwarded: browsers send one every 1 to 5 s. */
export const MIN_SENDER_REPORT_INTERVAL_MS = 250;

/**
 * Which of a track's sender reports are forwarded: those of the stream being
 * forwarded (its SSRC), each later in NTP time than the last one forwarded,
 * and at most one per MIN_SENDER_REPORT_INTERVAL_MS. A publisher's SR storm
 * thus costs each subscriber at most four small packets a second.
 */
export class SenderReportGate {
  private ssrc: number | undefined;
  private lastNtp = 0;
  private lastAtMs = -Infinity;

  accept(info: SenderInfo, nowMs: number): boolean {
    const ntp = ntpTime(info);
    if (ntp === 0 || nowMs - this.lastAtMs < MIN_SENDER_REPORT_INTERVAL_MS) return false;
    if (info.ssrc === this.ssrc && ntp <= this.lastNtp) return false;
    this.ssrc = info.ssrc;
    this.lastNtp = ntp;
    this.lastAtMs = nowMs;
    return true;
  }
}

/**
 * One subscriber stream's side of sender reports: counts what it sends (the
 * SR's packet and octet counts are the subscriber stream's own), and rewrites
 * a publisher's SR into the subscriber's stream: its SSRC, the RTP timestamp
 * as the consumer's RtpRewriter translated it, and the publisher's NTP time.
 *
 * The subscriber sees one SSRC whatever source the stream carries, so it
 * must see one clock too: when the source changes (another publisher, or the
 * same one republished), the new source's NTP times are shifted so that its
 * first SR lands where the previous source's mapping puts that RTP timestamp
 * (the rewriter already made the RTP timestamps continue). The first source's
 * NTP times are forwarded unchanged.
 */
export class SenderReportRewriter {
  private packets = 0;
  private octets = 0;
  private source: number | undefined;
  /** Added to the source's NTP times, seconds. */
  private ntpShift = 0;
  private last: { ntp: number; rtp: number } | undefined;

  constructor(
    readonly ssrc: number,
    private readonly clockRate: number,
  ) {}

  /** Counts one RTP packet sent on the stream (header and payload as sent). */
  onSent(packet: Uint8Array): void {
    this.packets++;
    this.octets += packet.length - payloadOffset(packet);
  }

  /** The SR to send the subscriber for the publisher's `info`, whose RTP timestamp the rewriter made `rtpTimestamp`. */
  rewrite(info: SenderInfo, rtpTimestamp: number): Buffer {
    if (info.ssrc !== this.source) {
      this.source = info.ssrc;
      const last = this.last;
      // Where the previous source's mapping puts this timestamp (a signed 32-bit distance from its last SR).
      this.ntpShift = last ? last.ntp + ((rtpTimestamp - last.rtp) | 0) / this.clockRate - ntpTime(info) : 0;
    }
    const ntp = this.ntpShift === 0 ? info : ntpParts(Math.max(0, ntpTime(info) + this.ntpShift));
    this.last = { ntp: ntpTime(ntp), rtp: rtpTimestamp };
    return buildSenderReport({
      ssrc: this.ssrc,
      ntpSeconds: ntp.ntpSeconds,
      ntpFraction: ntp.ntpFraction,
      rtpTimestamp,
      packetCount: this.packets,
      octetCount: this.octets,
    });
  }
}
