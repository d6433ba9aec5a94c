import { payloadOffset, RTP_HEADER_SIZE, sequenceNumber, setPayloadType, setSequenceNumber, setSsrc } from './rtp-packet.js';

/**
 * Wraps a packet (already in the subscriber's RTP space) as an RTX
 * retransmission (RFC 4588 section 4): the RTX stream's SSRC, payload type and
 * sequence number, the original sequence number in the first two payload bytes.
 * Padding of the original is left out.
 */
export function buildRtxPacket(original: Uint8Array, rtxSsrc: number, rtxPayloadType: number, rtxSeq: number): Buffer {
  const headerEnd = payloadOffset(original);
  const padding = original[0]! & 0x20 ? original[original.length - 1]! : 0;
  const payloadEnd = Math.max(headerEnd, original.length - padding);
  const out = Buffer.allocUnsafe(payloadEnd + 2);
  out.set(original.subarray(0, headerEnd), 0);
  out[0] = out[0]! & ~0x20;
  const osn = sequenceNumber(original);
  out[headerEnd] = osn >>> 8;
  out[headerEnd + 1] = osn & 0xff;
  out.set(original.subarray(headerEnd, payloadEnd), headerEnd + 2);
  setSsrc(out, rtxSsrc);
  setPayloadType(out, rtxPayloadType);
  setSequenceNumber(out, rtxSeq);
  return out;
}

/** The original sequence number an RTX packet carries (for clients and tests). */
export function rtxOriginalSequenceNumber(rtx: Uint8Array): number {
  const offset = payloadOffset(rtx);
  return offset + 2 <= rtx.length && rtx.length >= RTP_HEADER_SIZE ? (rtx[offset]! << 8) | rtx[offset + 1]! : -1;
}

/**
 * Turns an RTX packet (RFC 4588 section 4) back into the original packet, in
 * place: the header moves up over the original sequence number, which, with
 * the media stream's SSRC and payload type, replaces the RTX stream's. Returns
 * the original (a view of the same memory), or undefined when the packet
 * carries no original (padding only, as senders probe the bandwidth with).
 */
export function unwrapRtxPacket(rtx: Buffer, mediaSsrc: number, mediaPayloadType: number): Buffer | undefined {
  const headerEnd = payloadOffset(rtx);
  const padding = rtx[0]! & 0x20 ? rtx[rtx.length - 1]! : 0;
  if (headerEnd + 2 > rtx.length - padding) return undefined;
  const osn = (rtx[headerEnd]! << 8) | rtx[headerEnd + 1]!;
  rtx.copyWithin(2, 0, headerEnd);
  const original = rtx.subarray(2);
  setSsrc(original, mediaSsrc);
  setPayloadType(original, mediaPayloadType);
  setSequenceNumber(original, osn);
  return original;
}
