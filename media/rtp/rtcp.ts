/**
 * The RTCP this SFU reads and writes (RFC 3550, RFC 4585, RFC 5104,
 * draft-alvestrand-rmcat-remb): keyframe requests, NACKs and REMB.
 */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
const RTPFB_NACK = 1;
const PSFB_PLI = 1;
const PSFB_FIR = 4;
const PSFB_AFB = 15;

/**
 * NACK FCIs read from one compound RTCP packet; the rest are ignored. Each
 * asks for up to 17 packets, so this is more than a packet history holds
 * (512 by default), while a hostile NACK of a few hundred FCIs costs no more
 * than this to read.
 */
export const MAX_NACK_FCIS = 64;

/** The feedback one compound RTCP packet carries, by media SSRC. */
export interface RtcpFeedback {
  /** SSRCs a keyframe was asked for (PLI or FIR). */
  keyframe: number[];
  /** Lost sequence numbers, by SSRC. */
  nacks: Array<{ ssrc: number; seqs: number[] }>;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function writeHeader(b: Uint8Array, countOrFmt: number, pt: number): void {
  b[0] = 0x80 | (countOrFmt & 0x1f);
  b[1] = pt;
  const words = b.length / 4 - 1;
  b[2] = (words >>> 8) & 0xff;
  b[3] = words & 0xff;
}

/**
 * Calls `visit` for each packet of a compound RTCP packet, stopping at the first
 * malformed one. `start`/`end` bound the packet in `buf`.
 */
export function forEachRtcpPacket(
  buf: Uint8Array,
  visit: (pt: number, fmt: number, start: number, end: number) => void,
): void {
  let offset = 0;
  while (offset + 4 <= buf.length) {
    if (buf[offset]! >> 6 !== 2) return;
    const end = offset + 4 * (((buf[offset + 2]! << 8) | buf[offset + 3]!) + 1);
    if (end > buf.length) return;
    visit(buf[offset + 1]!, buf[offset]! & 0x1f, offset, end);
    offset = end;
  }
}

/** Extracts keyframe requests and NACKs (at most `MAX_NACK_FCIS` FCIs); other packet types are skipped. */
export function parseFeedback(buf: Uint8Array): RtcpFeedback {
  const feedback: RtcpFeedback = { keyframe: [], nacks: [] };
  let fcis = 0;
  forEachRtcpPacket(buf, (pt, fmt, start, end) => {
    if (end - start < 12) return;
    const mediaSsrc = readU32(buf, start + 8);
    if (pt === RTCP_PSFB && fmt === PSFB_PLI) {
      feedback.keyframe.push(mediaSsrc);
    } else if (pt === RTCP_PSFB && fmt === PSFB_FIR) {
      for (let o = start + 12; o + 8 <= end; o += 8) feedback.keyframe.push(readU32(buf, o));
    } else if (pt === RTCP_RTPFB && fmt === RTPFB_NACK) {
      const seqs: number[] = [];
      for (let o = start + 12; o + 4 <= end && fcis < MAX_NACK_FCIS; o += 4, fcis++) {
        const pid = (buf[o]! << 8) | buf[o + 1]!;
        const blp = (buf[o + 2]! << 8) | buf[o + 3]!;
        seqs.push(pid);
        for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) seqs.push((pid + bit + 1) & 0xffff);
      }
      if (seqs.length > 0) feedback.nacks.push({ ssrc: mediaSsrc, seqs });
    }
  });
  return feedback;
}

/**
 * Receiver Report (RFC 3550 6.4.2) with an empty report block per SSRC.
 * Feedback such as a FIR names no media SSRC in its header; compounded after an
 * RR (as RFC 3550 requires without reduced-size RTCP) it still reaches the
 * track the report blocks name.
 */
export function buildReceiverReport(senderSsrc: number, reportedSsrcs: readonly number[]): Buffer {
  const b = Buffer.alloc(8 + 24 * reportedSsrcs.length);
  writeHeader(b, reportedSsrcs.length, RTCP_RR);
  writeU32(b, 4, senderSsrc);
  reportedSsrcs.forEach((s, i) => writeU32(b, 8 + 24 * i, s));
  return b;
}

/** Picture Loss Indication (RFC 4585 6.3.1). */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = Buffer.alloc(12);
  writeHeader(b, PSFB_PLI, RTCP_PSFB);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 8, mediaSsrc);
  return b;
}

/** Full Intra Request (RFC 5104 4.3.1), one entry. */
export function buildFir(senderSsrc: number, mediaSsrc: number, seqNr: number): Buffer {
  const b = Buffer.alloc(20);
  writeHeader(b, PSFB_FIR, RTCP_PSFB);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 12, mediaSsrc);
  b[16] = seqNr & 0xff;
  return b;
}

/** Generic NACK (RFC 4585 6.2.1) for a list of sequence numbers. */
export function buildNack(senderSsrc: number, mediaSsrc: number, seqs: readonly number[]): Buffer {
  const entries: Array<[number, number]> = [];
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  // Start after the widest gap (the wrap from the last back to the first counts
  // too), so a run such as 65534, 65535, 0, 1 stays in order and packs into one entry.
  let start = 0;
  let widest = sorted.length > 0 ? sorted[0]! + 0x10000 - sorted[sorted.length - 1]! : 0;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! - sorted[i - 1]! > widest) {
      widest = sorted[i]! - sorted[i - 1]!;
      start = i;
    }
  }
  for (const seq of [...sorted.slice(start), ...sorted.slice(0, start)]) {
    const last = entries[entries.length - 1];
    const diff = last ? (seq - last[0]) & 0xffff : 0;
    if (last && diff >= 1 && diff <= 16) last[1] |= 1 << (diff - 1);
    else entries.push([seq, 0]);
  }
  const b = Buffer.alloc(12 + 4 * entries.length);
  writeHeader(b, RTPFB_NACK, RTCP_RTPFB);
  writeU32(b, 4, senderSsrc);
  writeU32(b, 8, mediaSsrc);
  entries.forEach(([pid, blp], i) => {
    b.writeUInt16BE(pid, 12 + 4 * i);
    b.writeUInt16BE(blp, 14 + 4 * i);
  });
  return b;
}

/** Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03). */
export function buildRemb(senderSsrc: number, bitrate: number, ssrcs: readonly number[]): Buffer {
  const b = Buffer.alloc(20 + 4 * ssrcs.length);
  writeHeader(b, PSFB_AFB, RTCP_PSFB);
  writeU32(b, 4, senderSsrc);
  b.write('REMB', 12, 'ascii');
  let exp = 0;
  // The field holds at most 2^18-1 × 2^63; anything not finite is sent as that.
  let mantissa = Number.isFinite(bitrate) ? Math.max(0, Math.floor(bitrate)) : 0x3ffff * 2 ** 63;
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  b[16] = ssrcs.length;
  b[17] = (exp << 2) | (mantissa >>> 16);
  b[18] = (mantissa >>> 8) & 0xff;
  b[19] = mantissa & 0xff;
  ssrcs.forEach((s, i) => writeU32(b, 20 + 4 * i, s));
  return b;
}

/** Reads the bitrate of a REMB packet, or undefined when `buf` holds none. */
export function parseRembBitrate(buf: Uint8Array): number | undefined {
  let bitrate: number | undefined;
  forEachRtcpPacket(buf, (pt, fmt, start, end) => {
    if (pt !== RTCP_PSFB || fmt !== PSFB_AFB || end - start < 20) return;
    if (String.fromCharCode(buf[start + 12]!, buf[start + 13]!, buf[start + 14]!, buf[start + 15]!) !== 'REMB') return;
    const exp = buf[start + 17]! >> 2;
    const mantissa = ((buf[start + 17]! & 0x03) << 16) | (buf[start + 18]! << 8) | buf[start + 19]!;
    bitrate = mantissa * 2 ** exp;
  });
  return bitrate;
}
