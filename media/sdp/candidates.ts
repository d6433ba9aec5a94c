/**
 * ICE candidate lines (RFC 8839 section 5.1):
 * "candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...".
 */

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
