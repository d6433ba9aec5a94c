import { NODE_TIMEOUT_RANGE } from './state-records.js';

/**
 * When a node is dead, judged from what this node heard through its state
 * feed, by its own clock (heartbeat timestamps written by other machines are
 * never compared with it).
 *
 * A node heartbeats every `timeout / HEARTBEATS_PER_TIMEOUT`. Silence is
 * counted on a LiveClock: time during which this node's own heartbeats came
 * back through the same feed, so a stalled watch, a NATS outage, a leader
 * election or a frozen event loop on the judging side makes nobody look
 * silent. A node is dead once it has been silent for `silenceLimit` (eight
 * intervals) of live time: a death is noticed 0.6 to 0.9 of its timeout
 * after it happened. Judgements are made when this node's own heartbeat
 * comes back, that is only while its feed works.
 */
export const HEARTBEATS_PER_TIMEOUT = 10;

/** What this node heard of another: the revision of its latest heartbeat and when that arrived, on the LiveClock. */
export interface HeardNode {
  nodeId: string;
  revision: number;
  /** LiveClock reading at the arrival, ms. */
  heardAt: number;
  /** The timeout the node declared in its heartbeat (clamped). */
  timeoutMs: number;
}

export function heartbeatIntervalMs(timeoutMs: number): number {
  return Math.round(timeoutMs / HEARTBEATS_PER_TIMEOUT);
}

/** How long a node may stay silent (live time) before it is dead: the timeout less two heartbeat intervals. */
export function silenceLimitMs(timeoutMs: number): number {
  return timeoutMs - 2 * heartbeatIntervalMs(timeoutMs);
}

/** A timeout declared by another node, within sane bounds (a hostile or broken heartbeat cannot make a node immortal or instantly dead). */
export function clampTimeout(declaredMs: number): number {
  return Math.min(NODE_TIMEOUT_RANGE.max, Math.max(NODE_TIMEOUT_RANGE.min, Number.isFinite(declaredMs) ? declaredMs : 0));
}

/**
 * Time during which this node's feed demonstrably worked: it advances when
 * this node's own heartbeat comes back, by the time since the previous one,
 * but by at most two heartbeat intervals (a longer gap means this node or
 * its feed was stalled, and that time is nobody else's silence).
 */
export class LiveClock {
  private elapsed = 0;
  private last: number | undefined;

  constructor(private readonly intervalMs: number) {}

  /** This node's own heartbeat came back at local time `at` (ms); returns the new reading. */
  ownHeartbeat(at: number): number {
    if (this.last !== undefined) this.elapsed += Math.max(0, Math.min(at - this.last, 2 * this.intervalMs));
    this.last = at;
    return this.elapsed;
  }

  /** The reading now, ms of live time. */
  get reading(): number {
    return this.elapsed;
  }
}

/** The nodes silent past their limit at live time `liveNow`. */
export function deadNodes(nodes: Iterable<HeardNode>, liveNow: number): HeardNode[] {
  return [...nodes].filter((n) => liveNow - n.heardAt >= silenceLimitMs(n.timeoutMs));
}
