/**
 * ICE candidate lines (RFC 8839 section 5.1):
 * "candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...".
 */
import { BlockList, isIP, isIPv4 } from 'node:net';
import { mediaMid, type Sdp } from './sdp.js';

const MAX_CANDIDATE_LENGTH = 1024;

/** Strips an "a=" prefix and checks the shape; returns the candidate or throws. */
export function normalizeCandidate(candidate: string): string {
  const trimmed = candidate.trim();
  const value = trimmed.startsWith('a=') ? trimmed.slice(2) : trimmed;
  if (value.length > MAX_CANDIDATE_LENGTH) throw new Error('candidate too long');
  const fields = value.split(' ');
  if (!value.startsWith('candidate:') || fields.length < 8 || fields[6] !== 'typ') {
    throw new Error(`not an ICE candidate: ${JSON.stringify(value.slice(0, 80))}`);
  }
  return value;
}

/** Replaces the connection address of a candidate (for a node behind 1:1 NAT). */
export function withAddress(candidate: string, address: string): string {
  const fields = candidate.split(' ');
  if (fields.length < 8) return candidate;
  fields[4] = address;
  return fields.join(' ');
}

/** Rewrites every a=candidate line of an SDP with `withAddress`. */
export function announceAddressInSdp(sdp: string, address: string): string {
  return sdp.replace(/^a=(candidate:[^\r\n]*)$/gm, (_line, candidate: string) => `a=${withAddress(candidate, address)}`);
}

/**
 * What a remote candidate (as normalized) points at: an IP address, or a host
 * name (a browser's mDNS "<uuid>.local"); throws with the reason when it
 * cannot be a peer. The server sends STUN checks to every address a client
 * names, so an address that no peer can have is refused: the unspecified
 * address, multicast, broadcast and other reserved IPv4 (0/8, 224/4, 240/4),
 * IPv6 unspecified and multicast (ff00::/8, also as IPv4-mapped), and port 0;
 * so is a transport other than UDP or TCP and an unknown type (libjuice would
 * ignore them with a warning).
 * Host names are not refused, but must not be handed to libdatachannel: it
 * starts a thread per name to resolve it.
 */
export function candidateTarget(candidate: string): 'address' | 'hostname' {
  const fields = candidate.split(' ');
  if (!/^(udp|tcp)$/i.test(fields[2]!)) throw new Error(`candidate transport ${JSON.stringify(fields[2]!.slice(0, 16))} is neither UDP nor TCP`);
  if (!/^(host|srflx|prflx|relay)$/.test(fields[7]!)) throw new Error(`candidate type ${JSON.stringify(fields[7]!.slice(0, 16))} is unknown`);
  const address = fields[4]!;
  const port = Number(fields[5]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`candidate port ${JSON.stringify(fields[5]?.slice(0, 8))} is not a port a peer can use`);
  const bracketless = address.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bracketless) === 0) {
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(address)) throw new Error(`candidate address ${JSON.stringify(address.slice(0, 80))} is neither an IP address nor a host name`);
    return 'hostname';
  }
  if (!canBePeer(bracketless)) throw new Error(`candidate address ${bracketless} cannot be a peer (unspecified, multicast, broadcast or reserved)`);
  return 'address';
}

/** The transport of a checked candidate: "udp" or "tcp". */
export function candidateTransport(candidate: string): 'udp' | 'tcp' {
  return candidate.split(' ')[2]!.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
}

/** Addresses no peer can have: 0/8, multicast 224/4 and reserved 240/4 (broadcast too); IPv6 unspecified and multicast. */
const NOT_A_PEER = new BlockList();
NOT_A_PEER.addSubnet('0.0.0.0', 8, 'ipv4');
NOT_A_PEER.addSubnet('224.0.0.0', 3, 'ipv4');
NOT_A_PEER.addAddress('::', 'ipv6');
NOT_A_PEER.addSubnet('ff00::', 8, 'ipv6');

/** (IPv4-mapped IPv6 addresses are checked against the IPv4 rules.) */
function canBePeer(address: string): boolean {
  return !NOT_A_PEER.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

/**
 * Removes the a=candidate lines of a description and returns them, with the
 * mid of their m-line: they go through the same checks and count as trickled
 * candidates instead of straight to libdatachannel.
 */
export function takeCandidates(sdp: Sdp): Array<[candidate: string, mid: string]> {
  const taken: Array<[string, string]> = [];
  const take = (lines: string[], mid: string) =>
    lines.filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      taken.push([line.slice(2), mid]);
      return false;
    });
  const firstMid = sdp.media.map(mediaMid).find((mid) => mid !== undefined) ?? '0';
  sdp.session = take(sdp.session, firstMid);
  for (const media of sdp.media) media.lines = take(media.lines, mediaMid(media) ?? firstMid);
  return taken;
}
