/**
 * A strict reader of transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * section 3.1), written for tests from the draft: it throws on anything a
 * careful receiver would refuse, so a packet that parses here is well-formed.
 */

export interface ParsedTransportCc {
  senderSsrc: number;
  mediaSsrc: number;
  baseSequence: number;
  statusCount: number;
  /** 24-bit field, 64 ms units. */
  referenceTime: number;
  feedbackCount: number;
  /** The raw 16-bit chunks, in order. */
  chunks: number[];
  /** One per status: the sequence number, its symbol (0 not received, 1 small, 2 large delta) and arrival time in µs on the reference clock (reference time × 64 ms + deltas). */
  statuses: Array<{ sequence: number; symbol: number; arrivalUs?: number }>;
  /** Size in bytes, padding included. */
  size: number;
}

/** Parses one RTCP packet (not compound) that must be transport-cc feedback. */
export function parseTransportCc(packet: Uint8Array): ParsedTransportCc {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 20) throw new Error(`too short: ${b.length} bytes`);
  if (b[0]! >> 6 !== 2) throw new Error('version is not 2');
  if ((b[0]! & 0x20) !== 0) throw new Error('padding bit set (zero padding inside the FCI is expected)');
  if ((b[0]! & 0x1f) !== 15 || b[1] !== 205) throw new Error(`not RTPFB FMT 15: PT ${b[1]} FMT ${b[0]! & 0x1f}`);
  const size = 4 * (b.readUInt16BE(2) + 1);
  if (size !== b.length) throw new Error(`length field says ${size} bytes, packet has ${b.length}`);
  const statusCount = b.readUInt16BE(14);
  if (statusCount === 0) throw new Error('no status');
  const baseSequence = b.readUInt16BE(12);
  const referenceTime = b.readUIntBE(16, 3);
  const symbols: number[] = [];
  const chunks: number[] = [];
  let offset = 20;
  while (symbols.length < statusCount) {
    if (offset + 2 > b.length) throw new Error('chunks run past the end');
    const chunk = b.readUInt16BE(offset);
    offset += 2;
    chunks.push(chunk);
    const left = statusCount - symbols.length;
    if ((chunk & 0x8000) === 0) {
      const symbol = (chunk >> 13) & 0x3;
      const run = chunk & 0x1fff;
      if (symbol === 3) throw new Error('reserved symbol in a run length chunk');
      if (run === 0) throw new Error('run length chunk of length 0');
      if (run > left) throw new Error(`run of ${run} beyond the status count`);
      for (let i = 0; i < run; i++) symbols.push(symbol);
    } else if ((chunk & 0x4000) === 0) {
      for (let i = 0; i < 14 && symbols.length < statusCount; i++) symbols.push((chunk >> (13 - i)) & 1);
    } else {
      for (let i = 0; i < 7 && symbols.length < statusCount; i++) {
        const symbol = (chunk >> (12 - 2 * i)) & 3;
        if (symbol === 3) throw new Error('reserved symbol in a status vector');
        symbols.push(symbol);
      }
    }
  }
  let time = referenceTime * 64_000;
  const statuses: ParsedTransportCc['statuses'] = [];
  symbols.forEach((symbol, i) => {
    const sequence = (baseSequence + i) & 0xffff;
    if (symbol === 0) {
      statuses.push({ sequence, symbol });
      return;
    }
    if (offset + symbol > b.length) throw new Error('deltas run past the end');
    const ticks = symbol === 1 ? b[offset]! : b.readInt16BE(offset);
    offset += symbol;
    time += ticks * 250;
    statuses.push({ sequence, symbol, arrivalUs: time });
  });
  if (b.length - offset > 3) throw new Error(`${b.length - offset} bytes after the deltas`);
  for (; offset < b.length; offset++) if (b[offset] !== 0) throw new Error('padding is not zero');
  return {
    senderSsrc: b.readUInt32BE(4),
    mediaSsrc: b.readUInt32BE(8),
    baseSequence,
    statusCount,
    referenceTime,
    feedbackCount: b[19]!,
    chunks,
    statuses,
    size: b.length,
  };
}
