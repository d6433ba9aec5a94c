/** A track of this node some other node wants. */
interface LeasedTrack {
  /** The worker of this node that receives it. */
  workerId: number;
  /** Wanting node → when its lease ends (ms, the caller's clock). */
  holders: Map<string, number>;
}

/** A track left without any lease. */
export interface EndedLease {
  trackId: string;
  workerId: number;
}

/**
 * The leases other nodes hold on this node's tracks: a node that wants a
 * track renews its lease every second or so; a lease not renewed within
 * `ttlMs` ends, as does one released. A track is published to NATS while it
 * has at least one lease. Pure bookkeeping: the caller passes the time.
 */
export class TrackLeases {
  private readonly tracks = new Map<string, LeasedTrack>();
  private held = 0;

  constructor(
    private readonly ttlMs: number,
    /** Leases held at most (each costs memory; the wants come from the network). */
    private readonly maxLeases: number,
  ) {}

  /** Leases held, all tracks together. */
  get leaseCount(): number {
    return this.held;
  }

  get trackCount(): number {
    return this.tracks.size;
  }

  /**
   * Starts or renews `nodeId`'s lease on a track: 'first' when the track had
   * none (its packets should start going to NATS), 'renewed' otherwise,
   * 'refused' when a new lease would pass the bound.
   */
  renew(trackId: string, workerId: number, nodeId: string, now: number): 'first' | 'renewed' | 'refused' {
    let track = this.tracks.get(trackId);
    const isNew = !track?.holders.has(nodeId);
    if (isNew && this.held >= this.maxLeases) return 'refused';
    const first = !track;
    if (!track) this.tracks.set(trackId, (track = { workerId, holders: new Map() }));
    if (isNew) this.held++;
    track.holders.set(nodeId, now + this.ttlMs);
    return first ? 'first' : 'renewed';
  }

  /** Ends `nodeId`'s lease on a track now; returns the track when that was its last lease. */
  release(trackId: string, nodeId: string): EndedLease | undefined {
    const track = this.tracks.get(trackId);
    if (!track?.holders.delete(nodeId)) return undefined;
    this.held--;
    if (track.holders.size > 0) return undefined;
    this.tracks.delete(trackId);
    return { trackId, workerId: track.workerId };
  }

  /** Ends every lease not renewed by `now`; returns the tracks left without one. */
  expire(now: number): EndedLease[] {
    const ended: EndedLease[] = [];
    for (const [trackId, track] of this.tracks) {
      for (const [nodeId, until] of track.holders) {
        if (until > now) continue;
        track.holders.delete(nodeId);
        this.held--;
      }
      if (track.holders.size > 0) continue;
      this.tracks.delete(trackId);
      ended.push({ trackId, workerId: track.workerId });
    }
    return ended;
  }

  /** The worker that receives a leased track, or undefined when no node holds a lease on it. */
  workerOf(trackId: string): number | undefined {
    return this.tracks.get(trackId)?.workerId;
  }

  /** The leased tracks one worker receives. */
  tracksOf(workerId: number): string[] {
    return [...this.tracks].filter(([, track]) => track.workerId === workerId).map(([trackId]) => trackId);
  }
}
