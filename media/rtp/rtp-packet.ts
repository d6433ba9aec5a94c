/**
 * Reading and rewriting the fixed RTP header (RFC 3550 section 5.1) in place.
 * Every function takes a packet as received from the binding: decrypted, one
 * Buffer per packet. Nothing here allocates.
 */

export const RTP_HEADER_SIZE = 12;

/** RTCP and RTP share one port (RFC 5761): RTCP packet types 192-223 in the second byte. */
export function isRtcp(packet: Uint8Array): boolean {
  if (packet.length < 4) return false;
  const pt = packet[1]!;
  return pt >= 192 && pt <= 223;
}

/** A plausible RTP packet: version 2, a full fixed header, the CSRC list and extension inside it. */
export function isRtp(packet: Uint8Array): boolean {
  if (packet.length < RTP_HEADER_SIZE || packet[0]! >> 6 !== 2 || isRtcp(packet)) return false;
  return payloadOffset(packet) <= packet.length;
}

export function payloadType(packet: Uint8Array): number {
  return packet[1]! & 0x7f;
}

export function sequenceNumber(packet: Uint8Array): number {
  return (packet[2]! << 8) | packet[3]!;
}

export function timestamp(packet: Uint8Array): number {
  return ((packet[4]! << 24) | (packet[5]! << 16) | (packet[6]! << 8) | packet[7]!) >>> 0;
}

export function ssrc(packet: Uint8Array): number {
  return ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0;
}

export function marker(packet: Uint8Array): boolean {
  return (packet[1]! & 0x80) !== 0;
}

/** Offset of the payload: after the fixed header, the CSRC list and the header extension. */
export function payloadOffset(packet: Uint8Array): number {
  let offset = RTP_HEADER_SIZE + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return packet.length + 1;
    offset += 4 + 4 * ((packet[offset + 2]! << 8) | packet[offset + 3]!);
  }
  return offset;
}

export function setPayloadType(packet: Uint8Array, pt: number): void {
  packet[1] = (packet[1]! & 0x80) | (pt & 0x7f);
}

export function setSequenceNumber(packet: Uint8Array, seq: number): void {
  packet[2] = (seq >>> 8) & 0xff;
  packet[3] = seq & 0xff;
}

export function setTimestamp(packet: Uint8Array, ts: number): void {
  packet[4] = (ts >>> 24) & 0xff;
  packet[5] = (ts >>> 16) & 0xff;
  packet[6] = (ts >>> 8) & 0xff;
  packet[7] = ts & 0xff;
}

export function setSsrc(packet: Uint8Array, value: number): void {
  packet[8] = (value >>> 24) & 0xff;
  packet[9] = (value >>> 16) & 0xff;
  packet[10] = (value >>> 8) & 0xff;
  packet[11] = value & 0xff;
}

/** Signed distance from sequence number `a` to `b` in 16-bit wrap-around arithmetic. */
export function seqDelta(a: number, b: number): number {
  return ((b - a + 0x8000) & 0xffff) - 0x8000;
}

/** True when `a` comes after `b` (RFC 1982 serial number arithmetic on 16 bits). */
export function seqNewer(a: number, b: number): boolean {
  return seqDelta(b, a) > 0;
}
