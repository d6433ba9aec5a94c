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
