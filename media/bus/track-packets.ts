import { shoal } from '../../proto/generated/shoal.js';

const { TrackPackets } = shoal.media.v1;

/** The packets of one track carried by one bus message, checked. */
export interface TrackPacketLists {
  rtp: Buffer[];
  resent: Buffer[];
  feedback: Buffer[];
}

/** A bus message that is not a well-formed TrackPackets. */
export class BusFrameError extends Error {
  override readonly name = 'BusFrameError';
}

/** Largest packet a message may carry: one RTP or RTCP packet of a UDP datagram. */
const MAX_PACKET_BYTES = 65_535;
/** Packets one message may carry: far more than one event-loop turn of one track brings. */
const MAX_PACKETS_PER_MESSAGE = 1024;

/**
 * Encodes packets of one track into a buffer of its own (transferable to
 * another thread: the encoder may hand out a slice of a shared pool).
 */
export function encodeTrackPackets(lists: { rtp?: Uint8Array[]; resent?: Uint8Array[]; feedback?: Uint8Array[] }): Uint8Array {
  const encoded = TrackPackets.encode(lists).finish();
  return encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength ? encoded : new Uint8Array(encoded);
}

/**
 * Decodes a bus message into checked packet lists: at most
 * MAX_PACKETS_PER_MESSAGE packets of 1 to 65,535 bytes, views into `data`.
 * Anything else throws BusFrameError, so one bad message costs its sender,
 * not the receiving worker.
 */
export function decodeTrackPackets(data: Uint8Array): TrackPacketLists {
  if (countTrackPackets(data) === undefined) throw new BusFrameError(`not a well-formed TrackPackets message (${data.length} bytes)`);
  let message: shoal.media.v1.TrackPackets;
  try {
    // A Buffer (not a plain Uint8Array) makes protobufjs return views, not copies.
    message = TrackPackets.decode(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (error) {
    throw new BusFrameError(`not a TrackPackets message: ${(error as Error).message}`);
  }
  return { rtp: message.rtp as Buffer[], resent: message.resent as Buffer[], feedback: message.feedback as Buffer[] };
}

/**
 * The number of packets in an encoded TrackPackets message (fields 1 to 3),
 * or undefined when it is not one this node accepts: a field that is not
 * length-delimited, a packet of 0 or more than 65,535 bytes, more than
 * MAX_PACKETS_PER_MESSAGE packets, a length past the end. Unknown
 * length-delimited fields (a newer version's) are skipped. Reads lengths only:
 * no allocation, so a node can check what it forwards.
 */
export function countTrackPackets(data: Uint8Array): number | undefined {
  let offset = 0;
  let packets = 0;
  while (offset < data.length) {
    const key = data[offset++]!;
    // Single-byte keys only (field numbers up to 15), wire type 2.
    if ((key & 0x80) !== 0 || (key & 7) !== 2 || key >> 3 === 0) return undefined;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      if (offset >= data.length || shift > 21) return undefined;
      const byte = data[offset++]!;
      length += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    if (offset + length > data.length) return undefined;
    offset += length;
    if (key >> 3 > 3) continue;
    if (length === 0 || length > MAX_PACKET_BYTES || ++packets > MAX_PACKETS_PER_MESSAGE) return undefined;
  }
  return packets;
}
