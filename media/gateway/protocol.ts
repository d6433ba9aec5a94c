/**
 * The messages between the control plane (main thread) and the node's media
 * gateway thread, in the envelopes media workers use (requests with an id and
 * one response each, events, log lines, bus ports).
 */

export interface GatewayInit {
  nodeId: string;
  /** NATS server URLs. */
  servers: string[];
  logLevel: string;
}

/** Request name → [params, result]. */
export interface GatewayRequests {
  getStats: [Record<string, never>, GatewayStats];
  /** Releases what this node pulls, drains the NATS connection; the thread exits after answering. */
  shutdown: [Record<string, never>, void];
  /** Diagnostics for recovery tests: the gateway throws an uncaught exception. */
  crash: [Record<string, never>, void];
}

export type GatewayEvent =
  /** The first connection to NATS is up (nats.js reconnects it by itself from then on). */
  | { kind: 'event'; type: 'ready' }
  | { kind: 'event'; type: 'stats'; stats: GatewayStats };

/** What the gateway did since it started (counters) and holds now (gauges). */
export interface GatewayStats {
  /** Whether the NATS connection is up. */
  connected: boolean;
  /** Reconnections to NATS since the gateway started. */
  reconnects: number;
  /** NATS messages and payload bytes published and received, all subjects. */
  messagesOut: number;
  bytesOut: number;
  messagesIn: number;
  bytesIn: number;
  /** Messages on shoal.rtp.*, the RTP packets they carried (resent ones included), and their payload bytes. */
  rtpMessagesOut: number;
  rtpPacketsOut: number;
  rtpBytesOut: number;
  rtpMessagesIn: number;
  rtpPacketsIn: number;
  rtpBytesIn: number;
  /** Messages on shoal.fb.* (PLI, FIR, NACK towards publishers). */
  feedbackMessagesOut: number;
  feedbackMessagesIn: number;
  /** Messages on shoal.want.* (leases). */
  wantMessagesOut: number;
  wantMessagesIn: number;
  /** Messages from NATS not used: malformed, or for a track no lease or subscription here covers. */
  messagesDropped: number;
  /** Messages not published because the connection was down (nats.js would drop them silently). */
  publishesSkipped: number;
  /** This node's tracks published to NATS now (some other node holds a lease), and the leases held on them. */
  tracksPublished: number;
  leasesHeld: number;
  /** Other nodes' tracks this node pulls now: one NATS subscription each, whatever the number of workers using it. */
  tracksPulled: number;
}
