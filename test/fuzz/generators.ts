/** Input generators of the fuzz targets: structured where structure gets deeper into the code, raw where it does not. */
import { shoal } from '../../proto/generated/shoal.js';
import { mutateBytes, mutateText, seedOffers, type Random } from './kit.js';

const { ClientMessage } = shoal.signaling.v1;
const { TrackPackets, TrackWants } = shoal.media.v1;

/** The largest signaling frame the node takes by default. */
const MAX_FRAME = 64 * 1024;

const OFFERS = seedOffers();
const CANDIDATE = 'candidate:1 1 UDP 2122317823 127.0.0.1 50000 typ host';
const MESSAGE_KEYS = ['join', 'publishOffer', 'subscriberAnswer', 'trickle', 'data', 'leave', 'ping', 'publish_offer', 'request_id', 'requestId', 'frobnicate', '__proto__'];

/** Well-formed client messages of every type, the starting points of structured cases. */
function template(rng: Random): Record<string, unknown> {
  const offer = rng.pick(OFFERS);
  return rng.pick<Record<string, unknown>>([
    { join: { room: 'fuzz', identity: `p${rng.int(50)}`, mustExist: rng.chance(0.2), token: rng.chance(0.1) ? 'a.b.c' : '' } },
    { publishOffer: { sdp: rng.chance(0.5) ? offer : mutateText(rng, offer, MAX_FRAME - 200) } },
    { subscriberAnswer: { sdp: mutateText(rng, offer, MAX_FRAME - 200), offerId: rng.interestingNumber() >>> 0 } },
    { trickle: { target: rng.pick(['PUBLISHER', 'SUBSCRIBER', 'CONNECTION_ROLE_UNSPECIFIED', 1, 2, 7]), candidate: rng.chance(0.5) ? CANDIDATE : mutateText(rng, CANDIDATE, 2000), sdpMid: rng.pick(['0', '1', '', 'x'.repeat(100)]) } },
    { data: { text: rng.interestingString(), toIdentities: rng.chance(0.3) ? [rng.interestingString(), 'p1'] : [], unreliable: rng.chance(0.3) } },
    { data: { binary: Buffer.from(rng.bytes(rng.int(300))).toString('base64') } },
    { leave: {} },
    { ping: { nonce: rng.interestingNumber() >>> 0 } },
  ]);
}

/** A JSON value of any shape, nested up to `depth`. */
function jsonValue(rng: Random, depth: number): unknown {
  switch (rng.int(depth > 0 ? 8 : 5)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.interestingNumber() * (rng.chance(0.2) ? -1 : 1);
    case 3:
      return rng.interestingString();
    case 4:
      return rng.pick(['PUBLISHER', 'AUDIO', 'NaN', 'Infinity', '-0', '1e400', 'AQID', '====']);
    case 5:
      return Array.from({ length: rng.int(4) }, () => jsonValue(rng, depth - 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.chance(0.6) ? rng.pick(MESSAGE_KEYS.concat(['room', 'identity', 'sdp', 'text', 'binary', 'target', 'candidate', 'sdpMid', 'offerId', 'nonce'])) : rng.interestingString(), jsonValue(rng, depth - 1)]));
  }
}

/** A text frame: a message template with a field replaced, a random JSON shape, mutated JSON text, or raw bytes. */
export function signalingJson(rng: Random): Uint8Array {
  switch (rng.int(10)) {
    case 0:
      return rng.bytes(rng.int(200));
    case 1:
    case 2:
    case 3: {
      const message = template(rng);
      const [key] = Object.keys(message);
      const body = message[key!] as Record<string, unknown>;
      const field = rng.pick([...Object.keys(body), rng.interestingString()]);
      body[field] = jsonValue(rng, 2);
      if (rng.chance(0.3)) message.requestId = rng.chance(0.5) ? rng.interestingNumber() : jsonValue(rng, 1);
      return Buffer.from(JSON.stringify(message));
    }
    case 4:
    case 5:
      return Buffer.from(JSON.stringify(jsonValue(rng, 4)) ?? 'null');
    default:
      return mutateBytes(rng, Buffer.from(JSON.stringify({ requestId: rng.int(100), ...template(rng) })), MAX_FRAME);
  }
}

/** A binary frame: an encoded message template, mutated, or raw bytes. */
export function signalingProtobuf(rng: Random): Uint8Array {
  if (rng.chance(0.1)) return rng.bytes(rng.int(200));
  let encoded: Uint8Array;
  try {
    encoded = ClientMessage.encode(ClientMessage.fromObject({ requestId: rng.int(1000), ...template(rng) })).finish();
  } catch {
    encoded = rng.bytes(rng.int(64));
  }
  return rng.chance(0.2) ? encoded : mutateBytes(rng, encoded, MAX_FRAME);
}

/** A compound RTCP packet: PLI, FIR, NACK (up to 300 FCIs), REMB, SR/RR, SDES, BYE or unknown, then maybe mutated. */
export function rtcpPacket(rng: Random): Uint8Array {
  const parts: Buffer[] = [];
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const [pt, fmt] = rng.pick<[number, number]>([[206, 1], [206, 4], [205, 1], [206, 15], [200, 0], [201, rng.int(32)], [202, 1], [203, 1], [rng.int(256), rng.int(32)]]);
    const words = pt === 205 ? 2 + rng.int(300) : rng.int(12);
    const body = Buffer.from(rng.bytes(4 * words));
    const header = Buffer.alloc(4);
    header[0] = (rng.chance(0.95) ? 0x80 : rng.int(256) & 0xe0) | fmt;
    header[1] = pt;
    header.writeUInt16BE(rng.chance(0.9) ? words : rng.interestingNumber() & 0xffff, 2);
    parts.push(header, body);
  }
  const packet = Buffer.concat(parts);
  return rng.chance(0.7) ? packet : mutateBytes(rng, packet, 1500);
}

/** An RTP packet with a random CSRC count, header extension and padding, then maybe mutated. */
export function rtpPacket(rng: Random): Uint8Array {
  const csrcs = rng.int(16);
  const extensionWords = rng.chance(0.5) ? rng.int(8) : -1;
  const payload = rng.int(1200);
  const padding = rng.chance(0.2) ? 1 + rng.int(255) : 0;
  const size = 12 + 4 * csrcs + (extensionWords >= 0 ? 4 + 4 * extensionWords : 0) + payload + padding;
  const packet = Buffer.from(rng.bytes(size));
  packet[0] = 0x80 | (extensionWords >= 0 ? 0x10 : 0) | (padding ? 0x20 : 0) | csrcs;
  if (extensionWords >= 0) packet.writeUInt16BE(extensionWords, 12 + 4 * csrcs + 2);
  if (padding) packet[size - 1] = rng.chance(0.8) ? padding : rng.int(256);
  return rng.chance(0.6) ? packet : mutateBytes(rng, packet, 1500);
}

/** A publisher offer: a captured real offer with lines deleted, repeated, swapped or rewritten. */
export function publisherOffer(rng: Random): string {
  const offer = rng.pick(OFFERS);
  if (rng.chance(0.05)) return offer;
  return mutateText(rng, offer, MAX_FRAME);
}

/** A media bus message: a TrackPackets of random packets, mutated, or raw bytes. */
export function busMessage(rng: Random): Uint8Array {
  if (rng.chance(0.1)) return rng.bytes(rng.int(300));
  const packets = () => Array.from({ length: rng.int(4) }, () => rng.bytes(rng.int(1400)));
  const encoded = TrackPackets.encode({ rtp: packets(), resent: packets(), feedback: packets() }).finish();
  return rng.chance(0.5) ? encoded : mutateBytes(rng, encoded, 64 * 1024);
}

/** A want message between nodes: a TrackWants of random wants, mutated, or raw bytes. */
export function wantsMessage(rng: Random): Uint8Array {
  if (rng.chance(0.1)) return rng.bytes(rng.int(300));
  const tracks = Array.from({ length: rng.int(5) }, () => ({
    trackId: rng.chance(0.8) ? `TR_${rng.int(1_000_000)}` : rng.interestingString(),
    workerId: rng.chance(0.9) ? rng.int(8) : rng.int(1_000_000),
    released: rng.chance(0.3),
  }));
  const encoded = TrackWants.encode({ nodeId: rng.chance(0.9) ? `node-${rng.int(9)}` : rng.interestingString(), tracks }).finish();
  return rng.chance(0.5) ? encoded : mutateBytes(rng, encoded, 64 * 1024);
}
