import type { PeerConnection } from 'node-datachannel';
import { candidateTarget, candidateTransport, normalizeCandidate } from '../sdp/candidates.js';
import { WorkerRequestError } from '../worker/request-error.js';

/**
 * Remote ICE candidates for one connection: every one a client names,
 * trickled or inside a description, is checked (`candidateTarget`) and
 * counted, at most `maxCandidates` for the connection's life (the server
 * sends connectivity checks to each). Clients may trickle candidates before
 * the description they belong to has been applied (a publisher's candidates
 * can overtake its offer); those wait here until `flush`. A candidate named
 * again (later answers repeat the candidates of earlier ones) counts once. Host-name
 * candidates (a browser's mDNS names) are counted but not applied: the
 * server does not look names up, and finds such a client from its checks.
 * TCP candidates are counted and ignored too: ICE-TCP is off (libjuice only
 * does active ICE-TCP), the server reaches clients over UDP only.
 */
export class RemoteCandidates {
  private early: Array<[string, string]> = [];
  /** Every candidate taken, by what makes it one (a client's later answers repeat those of earlier ones). */
  private readonly seen = new Set<string>();

  constructor(
    private readonly pc: PeerConnection,
    private readonly maxCandidates: number,
    /** Where a candidate libdatachannel refuses after its description was applied is reported. */
    private readonly onRefused: (candidate: string, error: unknown) => void,
  ) {}

  /**
   * Checks and counts candidates, all or none: throws INVALID_SDP for one
   * that cannot be a peer, TOO_MANY_CANDIDATES past the bound. Returns those
   * to apply (host names and TCP left out).
   */
  admit(candidates: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
    const admitted: Array<[string, string]> = [];
    const fresh = new Set<string>();
    for (const [raw, mid] of candidates) {
      let candidate: string;
      let usable: boolean;
      try {
        candidate = normalizeCandidate(raw);
        usable = candidateTarget(candidate) === 'address' && candidateTransport(candidate) === 'udp';
      } catch (error) {
        throw new WorkerRequestError('INVALID_SDP', `bad candidate: ${(error as Error).message}`);
      }
      const key = candidateKey(candidate);
      if (this.seen.has(key) || fresh.has(key)) continue;
      fresh.add(key);
      if (usable) admitted.push([candidate, mid]);
    }
    if (this.seen.size + fresh.size > this.maxCandidates) {
      throw new WorkerRequestError('TOO_MANY_CANDIDATES', `more than ${this.maxCandidates} remote ICE candidates for this connection`);
    }
    for (const key of fresh) this.seen.add(key);
    return admitted;
  }

  /** A trickled candidate: applied now, or after the description when there is none yet. */
  add(candidate: string, mid: string): void {
    for (const [admitted, admittedMid] of this.admit([[candidate, mid]])) {
      if (this.pc.remoteDescription()) this.pc.addRemoteCandidate(admitted, admittedMid);
      else this.early.push([admitted, admittedMid]);
    }
  }

  /**
   * Applies the candidates that came early, and `fromDescription` (admitted
   * before the description was applied); call after setting the remote description.
   */
  flush(fromDescription: ReadonlyArray<[string, string]> = []): void {
    const pending = [...this.early, ...fromDescription];
    this.early = [];
    for (const [candidate, mid] of pending) {
      try {
        this.pc.addRemoteCandidate(candidate, mid);
      } catch (error) {
        // The description is applied already: one candidate libdatachannel refuses spoils nothing else.
        this.onRefused(candidate, error);
      }
    }
  }
}

/** What makes a candidate one: component, transport, address, port and type (not its foundation or priority). */
function candidateKey(candidate: string): string {
  const [, component, transport, , address, port, , type] = candidate.split(' ');
  return `${component} ${transport!.toLowerCase()} ${address} ${port} ${type}`;
}
