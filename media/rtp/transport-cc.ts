/**
 * Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01):
 * reading the transport-wide sequence number a sender puts in each RTP
 * packet's header extension, and writing the RTCP feedback message (RTPFB,
 * PT=205, FMT=15) that reports, per sequence number, whether and when the
 * packet arrived. The sender's congestion controller (Chrome's GCC) runs on it.
 *
 * Feedback layout after the 12 bytes of RTPFB header: base sequence number
 * (16), packet status count (16), reference time (24, signed, 64 ms units),
 * feedback packet count (8); then packet status chunks of 16 bits, then one
 * receive delta per received packet (8 bits unsigned or 16 bits signed, 250 µs
 * units, the first from the reference time, each next from the previous
 * received packet's), zero-padded to 32 bits.
 */

import { RTCP_RTPFB } from './rtcp.js';
import { RTP_HEADER_SIZE } from './rtp-packet.js';

export const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const RTPFB_TRANSPORT_CC = 15;

/** `arrivalUs` of a sequence number whose packet did not arrive. */
export const NOT_RECEIVED = -1;

/** Packet status symbols (2 bits). */
const STATUS_NOT_RECEIVED = 0;
const STATUS_SMALL_DELTA = 1;
const STATUS_LARGE_DELTA = 2;

const DELTA_UNIT_US = 250;
const REFERENCE_UNIT_US = 64_000;
const FEEDBACK_HEADER_SIZE = 20;
const MAX_RUN_LENGTH = 0x1fff;
const MAX_STATUS_COUNT = 0xffff;
const ONE_BIT_SYMBOLS = 14;
const TWO_BIT_SYMBOLS = 7;
const ONE_BYTE_PROFILE = 0xbede;
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;

/**
 * The transport-wide sequence number in `packet` (an RTP packet that passed
 * `isRtp`) under extension id `extensionId` (1-14 one-byte, 1-255 two-byte
 * form, RFC 8285), or -1 when it carries none. Reads only inside the packet's
 * declared extension block; allocates nothing.
 */
export function readTransportSequence(packet: Uint8Array, extensionId: number): number {
  if ((packet[0]! & 0x10) === 0) return -1;
  const start = RTP_HEADER_SIZE + 4 * (packet[0]! & 0x0f);
  if (packet.length < start + 4) return -1;
  const profile = (packet[start]! << 8) | packet[start + 1]!;
  const end = start + 4 + 4 * ((packet[start + 2]! << 8) | packet[start + 3]!);
  if (end > packet.length) return -1;
  const twoByte = (profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE;
  if (profile !== ONE_BYTE_PROFILE && !twoByte) return -1;
  let offset = start + 4;
  while (offset < end) {
    let id: number;
    let length: number;
    if (twoByte) {
      id = packet[offset]!;
      if (id === 0) {
        offset++;
        continue;
      }
      if (offset + 2 > end) return -1;
      length = packet[offset + 1]!;
      offset += 2;
    } else {
      id = packet[offset]! >> 4;
      if (id === 0) {
        offset++;
        continue;
      }
      if (id === 15) return -1;
      length = (packet[offset]! & 0x0f) + 1;
      offset += 1;
    }
    if (offset + length > end) return -1;
    if (id === extensionId) return length >= 2 ? (packet[offset]! << 8) | packet[offset + 1]! : -1;
    offset += length;
  }
  return -1;
}

/**
 * Writes transport-cc feedback packets one status at a time. `begin` a packet
 * at a base sequence number, `add` the status of each next sequence number
 * until it returns false (the packet is full, or the arrival is too far from
 * the previous one to be a 16-bit delta), `finish` it, and begin the next at
 * the sequence number that did not fit. Chunks are chosen as statuses come
 * (run length for runs, status vectors for mixes), so the size is exact all
 * along and never exceeds `maxPacketBytes`. The writer's buffers are
 * allocated once; `finish` allocates the packet it returns.
 */
export class TransportCcWriter {
  private readonly chunks: Uint16Array;
  private readonly deltas: Uint8Array;
  private chunkCount = 0;
  private deltaBytes = 0;
  private statusCount = 0;
  private baseSequence = 0;
  /** Reference time in 64 ms units, set by the first received packet. */
  private referenceTime = -1;
  /** Arrival time the next delta is counted from, µs: the reference time plus every delta written. */
  private lastUs = 0;
  // The chunk being filled: up to 14 symbols, or a run of one symbol of any length up to 8191.
  private readonly pending = new Uint8Array(ONE_BIT_SYMBOLS);
  private pendingCount = 0;
  private pendingAllSame = true;
  private pendingHasLarge = false;

  constructor(private readonly maxPacketBytes = 1200) {
    if (maxPacketBytes < FEEDBACK_HEADER_SIZE + 8) throw new Error('transport-cc packets need at least 28 bytes');
    this.chunks = new Uint16Array(maxPacketBytes >> 1);
    this.deltas = new Uint8Array(maxPacketBytes);
  }

  begin(baseSequence: number): void {
    this.baseSequence = baseSequence & 0xffff;
    this.chunkCount = 0;
    this.deltaBytes = 0;
    this.statusCount = 0;
    this.referenceTime = -1;
    this.pendingCount = 0;
  }

  /**
   * Adds the status of the next sequence number: its packet's arrival time in
   * µs (any clock, the same for every packet), or NOT_RECEIVED. Returns false,
   * adding nothing, when it does not fit in this packet.
   */
  add(arrivalUs: number): boolean {
    if (this.statusCount >= MAX_STATUS_COUNT) return false;
    if (arrivalUs === NOT_RECEIVED) return this.addSymbol(STATUS_NOT_RECEIVED, 0);
    let lastUs = this.lastUs;
    if (this.referenceTime < 0) lastUs = Math.floor(arrivalUs / REFERENCE_UNIT_US) * REFERENCE_UNIT_US;
    const ticks = Math.round((arrivalUs - lastUs) / DELTA_UNIT_US);
    if (ticks < -0x8000 || ticks > 0x7fff) return false;
    const small = ticks >= 0 && ticks <= 0xff;
    if (!this.addSymbol(small ? STATUS_SMALL_DELTA : STATUS_LARGE_DELTA, ticks)) return false;
    if (this.referenceTime < 0) this.referenceTime = lastUs / REFERENCE_UNIT_US;
    this.lastUs = lastUs + ticks * DELTA_UNIT_US;
    return true;
  }

  /** The feedback packet for the statuses added since `begin` (at least one). */
  finish(senderSsrc: number, mediaSsrc: number, feedbackCount: number): Buffer {
    if (this.statusCount === 0) throw new Error('a transport-cc feedback packet needs at least one status');
    this.emitPending();
    const unpadded = FEEDBACK_HEADER_SIZE + 2 * this.chunkCount + this.deltaBytes;
    const b = Buffer.alloc((unpadded + 3) & ~3);
    b[0] = 0x80 | RTPFB_TRANSPORT_CC;
    b[1] = RTCP_RTPFB;
    b.writeUInt16BE(b.length / 4 - 1, 2);
    b.writeUInt32BE(senderSsrc >>> 0, 4);
    b.writeUInt32BE(mediaSsrc >>> 0, 8);
    b.writeUInt16BE(this.baseSequence, 12);
    b.writeUInt16BE(this.statusCount, 14);
    // 24 bits, two's complement: the clock's 64 ms count wraps every 298 hours.
    b.writeUIntBE(Math.max(0, this.referenceTime) % 0x1000000, 16, 3);
    b[19] = feedbackCount & 0xff;
    let offset = FEEDBACK_HEADER_SIZE;
    for (let i = 0; i < this.chunkCount; i++, offset += 2) b.writeUInt16BE(this.chunks[i]!, offset);
    b.set(this.deltas.subarray(0, this.deltaBytes), offset);
    return b;
  }

  private addSymbol(symbol: number, ticks: number): boolean {
    const deltaSize = symbol === STATUS_NOT_RECEIVED ? 0 : symbol;
    const opensChunk = !this.joinsPending(symbol);
    const size = FEEDBACK_HEADER_SIZE + 2 * (this.chunkCount + (this.pendingCount > 0 ? 1 : 0) + (opensChunk ? 1 : 0)) + this.deltaBytes + deltaSize;
    if (((size + 3) & ~3) > this.maxPacketBytes) return false;
    if (opensChunk) {
      const partOneBitVector = !this.pendingAllSame && !this.pendingHasLarge && this.pendingCount < ONE_BIT_SYMBOLS;
      if (symbol === STATUS_LARGE_DELTA && partOneBitVector) this.emitTwoBitPrefix();
      else this.emitPending();
    }
    if (this.pendingCount < ONE_BIT_SYMBOLS) this.pending[this.pendingCount] = symbol;
    this.pendingAllSame = this.pendingCount === 0 || (this.pendingAllSame && this.pending[0] === symbol);
    this.pendingHasLarge = (this.pendingCount > 0 && this.pendingHasLarge) || symbol === STATUS_LARGE_DELTA;
    this.pendingCount++;
    if (deltaSize === 1) this.deltas[this.deltaBytes++] = ticks;
    else if (deltaSize === 2) {
      this.deltas[this.deltaBytes++] = (ticks >> 8) & 0xff;
      this.deltas[this.deltaBytes++] = ticks & 0xff;
    }
    this.statusCount++;
    return true;
  }

  /** Whether `symbol` can go into the chunk being filled. */
  private joinsPending(symbol: number): boolean {
    const n = this.pendingCount;
    if (n === 0) return false;
    if (this.pendingAllSame && this.pending[0] === symbol) return n < MAX_RUN_LENGTH;
    const capacity = this.pendingHasLarge || symbol === STATUS_LARGE_DELTA ? TWO_BIT_SYMBOLS : ONE_BIT_SYMBOLS;
    return n < capacity;
  }

  /**
   * Only the last chunk may hold fewer symbols than it has room for. A 1-bit
   * vector of 7 to 13 symbols that a large delta cannot join sends its first
   * seven as a full 2-bit vector; the rest stay to be joined.
   */
  private emitTwoBitPrefix(): void {
    let chunk = 0xc000;
    for (let i = 0; i < TWO_BIT_SYMBOLS; i++) chunk |= this.pending[i]! << (2 * (TWO_BIT_SYMBOLS - 1 - i));
    this.chunks[this.chunkCount++] = chunk;
    const rest = this.pendingCount - TWO_BIT_SYMBOLS;
    this.pending.copyWithin(0, TWO_BIT_SYMBOLS, this.pendingCount);
    this.pendingCount = rest;
    this.pendingAllSame = true;
    for (let i = 1; i < rest; i++) if (this.pending[i] !== this.pending[0]) this.pendingAllSame = false;
  }

  private emitPending(): void {
    const n = this.pendingCount;
    if (n === 0) return;
    let chunk: number;
    if (this.pendingAllSame) {
      // Run length chunk: 0, symbol (2 bits), run length (13 bits).
      chunk = (this.pending[0]! << 13) | n;
    } else if (this.pendingHasLarge) {
      // Status vector chunk of 2-bit symbols: 1, 1, seven symbols.
      chunk = 0xc000;
      for (let i = 0; i < n; i++) chunk |= this.pending[i]! << (2 * (TWO_BIT_SYMBOLS - 1 - i));
    } else {
      // Status vector chunk of 1-bit symbols: 1, 0, fourteen symbols (1 = received, small delta).
      chunk = 0x8000;
      for (let i = 0; i < n; i++) chunk |= this.pending[i]! << (ONE_BIT_SYMBOLS - 1 - i);
    }
    this.chunks[this.chunkCount++] = chunk;
    this.pendingCount = 0;
  }
}
