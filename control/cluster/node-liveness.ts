import { NODE_TIMEOUT_RANGE } from './state-records.js';

/**
 * When a node is dead, judged from what this node heard, by its own clock
 * (heartbeat timestamps written by other machines are not compared with it).
 *
 * A node heartbeats every `timeout / HEARTBEATS_PER_TIMEOUT`; it is dead when
 * no new heartbeat of it has arrived for `silenceLimit(timeout)` (four
 * intervals), so a death is noticed 0.6 to 0.85 of the timeout after it
 * happened, within the timeout. Silence counts only while this node's
 * change feed is demonstrably live: its own heartbeats come back through the
 * same watch, and when they stop (this node cut off, its watch stalled, its
 * event loop frozen) nobody is judged. The verdict is then checked by a
 * compare-and-set on the dead node's key, which fails if it wrote meanwhile.
 */
export const HEARTBEATS_PER_TIMEOUT = 5;

/** What this node heard of another: the revision of its latest heartbeat and when that arrived (local monotonic clock, ms). */
export interface HeardNode {
  nodeId: string;
  revision: number;
  heardAt: number;
  /** The timeout the node declared in its heartbeat (clamped). */
  timeoutMs: number;
}

export function heartbeatIntervalMs(timeoutMs: number): number {
  return Math.round(timeoutMs / HEARTBEATS_PER_TIMEOUT);
}

/** How long a node may stay silent before it is dead: the timeout less one heartbeat interval. */
export function silenceLimitMs(timeoutMs: number): number {
  return timeoutMs - heartbeatIntervalMs(timeoutMs);
}

/** A timeout declared by another node, within sane bounds (a hostile or broken heartbeat cannot make a node immortal or instantly dead). */
export function clampTimeout(declaredMs: number): number {
  return Math.min(NODE_TIMEOUT_RANGE.max, Math.max(NODE_TIMEOUT_RANGE.min, Number.isFinite(declaredMs) ? declaredMs : 0));
}

/** Whether this node's feed is live: its own last heartbeat came back within two intervals. */
export function feedLive(now: number, ownHeardAt: number | undefined, ownTimeoutMs: number): boolean {
  return ownHeardAt !== undefined && now - ownHeardAt <= 2 * heartbeatIntervalMs(ownTimeoutMs);
}

/** The nodes dead now: silent past their limit while this node's feed was live. */
export function deadNodes(nodes: Iterable<HeardNode>, now: number, ownHeardAt: number | undefined, ownTimeoutMs: number): HeardNode[] {
  if (!feedLive(now, ownHeardAt, ownTimeoutMs)) return [];
  return [...nodes].filter((n) => now - n.heardAt >= silenceLimitMs(n.timeoutMs));
}
