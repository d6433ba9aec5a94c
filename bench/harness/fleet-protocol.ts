import type { MediaProfile } from '../client/media-profile.js';

/** One synthetic participant a client process runs. */
export interface PeerPlan {
  room: string;
  identity: string;
  /** Access token, for a deployment that requires one. */
  token?: string;
  /** What it publishes; nothing when it only receives. */
  publish?: { audio: boolean; video: boolean };
  /** Index into the join command's `urls`: the node it joins through; default 0. */
  node?: number;
}

/** Orchestrator → client process. */
export type FleetCommand =
  | { type: 'join'; urls: string[]; peers: PeerPlan[]; profile: MediaProfile; rampMs: number }
  /** Start of the measurement window: counters to zero. */
  | { type: 'reset' }
  | { type: 'snapshot' }
  | { type: 'stop' };

/** What a client process measured since the last reset. */
export interface ClientSnapshot {
  packetsExpected: number;
  packetsReceived: number;
  /** Per node (the join command's `urls`): latency histogram buckets ([index, count]) and the largest sample, ms. */
  latencyByNode: Array<{ buckets: Array<[number, number]>; maxMs: number }>;
  jitterSumMs: number;
  jitterSamples: number;
  nacksSent: number;
  plisSent: number;
  retransmissions: number;
  /** Received tracks that got packets in the window. */
  tracksReceiving: number;
  cpuUserMicros: number;
  cpuSystemMicros: number;
}

/** Client process → orchestrator. */
export type FleetReply =
  | { type: 'joined'; joined: number; failures: string[] }
  | { type: 'snapshot'; snapshot: ClientSnapshot };
