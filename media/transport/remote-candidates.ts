import type { PeerConnection } from 'node-datachannel';

const MAX_EARLY_CANDIDATES = 64;

/**
 * Remote ICE candidates for one connection. Clients may trickle candidates
 * before the description they belong to has been applied (a publisher's
 * candidates can overtake its offer); those wait here until `flush`.
 */
export class RemoteCandidates {
  private early: Array<[string, string]> = [];

  constructor(private readonly pc: PeerConnection) {}

  add(candidate: string, mid: string): void {
    if (this.pc.remoteDescription()) {
      this.pc.addRemoteCandidate(candidate, mid);
      return;
    }
    if (this.early.length >= MAX_EARLY_CANDIDATES) throw new Error('too many candidates before a description');
    this.early.push([candidate, mid]);
  }

  /** Applies the candidates that came early; call after setting the remote description. */
  flush(): void {
    const early = this.early;
    this.early = [];
    for (const [candidate, mid] of early) this.pc.addRemoteCandidate(candidate, mid);
  }
}
