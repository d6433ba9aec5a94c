/**
 * A small line-level SDP (RFC 8866) model: enough to inspect and edit offers
 * and answers without losing lines this code does not understand.
 */

export class SdpError extends Error {
  override readonly name = 'SdpError';
}

export interface SdpMedia {
  kind: string;
  port: number;
  protocol: string;
  /** Payload types (or "webrtc-datachannel"), in the order of the m= line. */
  formats: string[];
  /** Every line after the m= line, in order. */
  lines: string[];
}

export interface Sdp {
  /** Lines before the first m= line. */
  session: string[];
  media: SdpMedia[];
}

const MAX_SDP_LENGTH = 256 * 1024;

export function parseSdp(text: string): Sdp {
  if (typeof text !== 'string' || text.length === 0) throw new SdpError('empty SDP');
  if (text.length > MAX_SDP_LENGTH) throw new SdpError(`SDP longer than ${MAX_SDP_LENGTH} characters`);
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  if (lines[0] !== 'v=0') throw new SdpError('SDP must start with "v=0"');
  const sdp: Sdp = { session: [], media: [] };
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw new SdpError(`not an SDP line: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.startsWith('m=')) {
      const [kind, port, protocol, ...formats] = line.slice(2).split(' ');
      const portNumber = Number(port);
      if (!kind || !protocol || !Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535) {
        throw new SdpError(`bad m= line: ${JSON.stringify(line.slice(0, 80))}`);
      }
      sdp.media.push({ kind, port: portNumber, protocol, formats, lines: [] });
    } else if (sdp.media.length > 0) {
      sdp.media[sdp.media.length - 1]!.lines.push(line);
    } else {
      sdp.session.push(line);
    }
  }
  return sdp;
}

export function writeSdp(sdp: Sdp): string {
  const out = [...sdp.session];
  for (const m of sdp.media) out.push(`m=${[m.kind, m.port, m.protocol, ...m.formats].join(' ')}`, ...m.lines);
  return out.join('\r\n') + '\r\n';
}

/** Values of `a=<name>:<value>` lines (or "" for a flag `a=<name>`). */
export function attributes(lines: readonly string[], name: string): string[] {
  const prefix = `a=${name}`;
  const out: string[] = [];
  for (const line of lines) {
    if (line === prefix) out.push('');
    else if (line.startsWith(prefix + ':')) out.push(line.slice(prefix.length + 1));
  }
  return out;
}

export function attribute(lines: readonly string[], name: string): string | undefined {
  return attributes(lines, name)[0];
}

export function mediaMid(media: SdpMedia): string | undefined {
  return attribute(media.lines, 'mid');
}

/**
 * Whether an m-line is rejected (or removed): port 0 without a=bundle-only.
 * A bundle-only m-line (RFC 8843 section 6, JSEP's max-bundle) also has port 0
 * but is live: it shares the transport of the BUNDLE group's first m-line.
 */
export function isRejected(media: SdpMedia): boolean {
  return media.port === 0 && attribute(media.lines, 'bundle-only') === undefined;
}

/** Rejects an m-line: port 0, and no a=bundle-only (which would keep it live). */
export function rejectMedia(media: SdpMedia): void {
  media.port = 0;
  media.lines = media.lines.filter((line) => line !== 'a=bundle-only');
}

export function mediaDirection(media: SdpMedia): 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' {
  for (const line of media.lines) {
    if (line === 'a=sendonly' || line === 'a=recvonly' || line === 'a=inactive' || line === 'a=sendrecv') {
      return line.slice(2) as 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
    }
  }
  return 'sendrecv';
}
