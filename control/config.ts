import { availableParallelism } from 'node:os';
import { PUBLISHER_FEEDBACK_CHOICES, type MediaSettings } from '../media/worker/protocol.js';
import type { VerificationKey } from './auth/access-token.js';
import { defaultNodeId, nodeIdProblem } from './cluster/ids.js';
import { WS_ENGINE_CHOICES, type WsEngineChoice } from './http/engine.js';
import type { TlsFiles } from './http/tls.js';
import type { IceServer } from './whip/ice-servers.js';

/** Everything a node is started with; `shoal serve` fills it from flags and environment. */
export interface NodeConfig {
  /** Host and port of the HTTP/WebSocket listener. Port 0 picks a free one. */
  host: string;
  port: number;
  /** Set: the listener terminates TLS itself (https, wss) with these files; unset: plain HTTP. */
  tls?: TlsFiles;
  /** Number of media worker threads. */
  workers: number;
  /** A room stays on one worker until it has this many participants, then spreads. */
  roomWorkerCapacity: number;
  /** Largest signaling frame accepted, bytes. */
  maxMessageBytes: number;
  /** WebSocket engine: uWebSockets.js where a native build loads (auto), or `ws` on node:http. */
  wsEngine: WsEngineChoice;
  /** Browser origins allowed to open the signaling WebSocket and to call WHIP/WHEP; empty: any. */
  allowedOrigins: string[];
  /** STUN/TURN servers named to WHIP and WHEP clients (Link headers); the node itself uses none. */
  iceServers: IceServer[];
  /** A WebSocket from which no complete frame arrives for this long is dropped, ms (not a CLI option: tests shorten it). */
  idleTimeoutMs: number;
  /** How long a drain (SIGTERM/SIGINT) may take before the node exits anyway, ms. */
  drainTimeoutMs: number;
  /** Names this node in the cluster (store keys, subjects, logs); stable across restarts. */
  nodeId: string;
  /** Set: the node joins a cluster through NATS; unset: it runs alone with the in-memory store. */
  cluster?: ClusterConfig;
  logLevel: string;
  /** First UDP port of the media workers: worker i uses `udpPort + i` (ICE UDP mux) unless a range is set. */
  udpPort: number;
  /** A UDP port range shared out between the workers instead (no mux), as [begin, end]. */
  udpPortRange?: [number, number];
  media: Omit<MediaSettings, 'portRangeBegin' | 'portRangeEnd'>;
  limits: ClientLimits;
  /** The key access tokens are checked with; without one the node is open (docs/security.md). */
  auth?: VerificationKey;
}

/** How a node joins a cluster (docs/cluster.md). */
export interface ClusterConfig {
  /** NATS server URLs; any one that answers will do (the client learns the others). */
  servers: string[];
  /**
   * A node none of whose heartbeats (every nodeTimeoutMs / 10) has arrived
   * for this long is dead, ms: its participants, tracks and identity holds
   * are removed (control/cluster/node-liveness.ts).
   */
  nodeTimeoutMs: number;
  /** Replicas of each JetStream KV bucket the node creates (1, or 3 on a cluster of three servers or more). */
  kvReplicas: number;
  /** How long start-up keeps trying to reach NATS (and its JetStream) before it gives up (exit 1), ms. */
  connectTimeoutMs: number;
  /**
   * Where the media gateway (media between nodes over NATS) runs: a thread of
   * its own, inside the only media worker (one thread hand-off fewer per NATS
   * message each way), or auto: inside the worker when there is one worker.
   */
  mediaGateway: MediaGatewayPlacement;
}

export const MEDIA_GATEWAY_CHOICES = ['auto', 'thread', 'worker'] as const;
export type MediaGatewayPlacement = (typeof MEDIA_GATEWAY_CHOICES)[number];

/** Whether this node's media gateway runs inside its (only) media worker rather than in a thread of its own. */
export function gatewayInWorker(config: Pick<NodeConfig, 'cluster' | 'workers'>): boolean {
  const placement = config.cluster?.mediaGateway;
  return placement === 'worker' || (placement === 'auto' && config.workers === 1);
}

export const DEFAULT_CLUSTER: Omit<ClusterConfig, 'servers'> = {
  nodeTimeoutMs: 10_000,
  kvReplicas: 1,
  connectTimeoutMs: 30_000,
  mediaGateway: 'auto',
};

/** Bounds on what one client can make the node do (docs/security.md); media-side bounds are in `media`. */
export interface ClientLimits {
  /** Participants in one room on this node. */
  maxParticipantsPerRoom: number;
  /** WebSocket connections open on this node. */
  maxConnections: number;
  /** Signaling messages (and data channel messages) per second per connection, sustained. */
  maxMessagesPerSecond: number;
}

export const DEFAULT_CONFIG: NodeConfig = {
  host: '0.0.0.0',
  port: 8080,
  workers: availableParallelism(),
  roomWorkerCapacity: 50,
  maxMessageBytes: 64 * 1024,
  wsEngine: 'auto',
  allowedOrigins: [],
  iceServers: [],
  idleTimeoutMs: 60_000,
  drainTimeoutMs: 10_000,
  nodeId: defaultNodeId(),
  logLevel: 'info',
  udpPort: 40000,
  media: {
    bindAddress: '0.0.0.0',
    maxPublisherBitrate: 3_000_000,
    minPublisherBitrate: 100_000,
    keyframeRequestIntervalMs: 500,
    retransmissionBufferPackets: 512,
    connectTimeoutMs: 15_000,
    maxTracksPerParticipant: 16,
    maxRemoteCandidates: 64,
    publisherFeedback: 'remb',
  },
  limits: {
    maxParticipantsPerRoom: 500,
    maxConnections: 10_000,
    maxMessagesPerSecond: 50,
  },
};

/** Shortest HS256 secret accepted: shorter ones can be guessed from one token. */
const MIN_SECRET_BYTES = 32;

/** The UDP ports worker `index` of `count` uses. */
export function workerPorts(config: NodeConfig, index: number): { portRangeBegin: number; portRangeEnd: number } {
  if (!config.udpPortRange) return { portRangeBegin: config.udpPort + index, portRangeEnd: config.udpPort + index };
  const [begin, end] = config.udpPortRange;
  const size = Math.floor((end - begin + 1) / config.workers);
  return { portRangeBegin: begin + index * size, portRangeEnd: begin + (index + 1) * size - 1 };
}

/** Checks a config; returns a list of problems (empty when usable). */
export function validateConfig(config: NodeConfig): string[] {
  const problems: string[] = [];
  const port = (value: number) => Number.isInteger(value) && value >= 0 && value <= 65535;
  if (!port(config.port)) problems.push(`port ${config.port} is not a TCP port`);
  if (!Number.isInteger(config.workers) || config.workers < 1 || config.workers > 256) problems.push('workers must be 1 to 256');
  if (!Number.isInteger(config.roomWorkerCapacity) || config.roomWorkerCapacity < 1) problems.push('room worker capacity must be at least 1');
  if (!config.udpPortRange && (!port(config.udpPort) || config.udpPort === 0 || !port(config.udpPort + config.workers - 1))) {
    problems.push(`UDP ports ${config.udpPort}..${config.udpPort + config.workers - 1} are not all valid ports`);
  }
  if (config.udpPortRange) {
    const [begin, end] = config.udpPortRange;
    if (!port(begin) || !port(end) || begin === 0 || end < begin) problems.push(`bad UDP port range ${begin}-${end}`);
    else if (end - begin + 1 < config.workers) problems.push('the UDP port range needs at least one port per worker');
  }
  const { media } = config;
  if (media.minPublisherBitrate <= 0 || media.maxPublisherBitrate < media.minPublisherBitrate) {
    problems.push('publisher bitrates need 0 < min <= max');
  }
  const buffer = media.retransmissionBufferPackets;
  if (!Number.isInteger(buffer) || buffer < 16 || (buffer & (buffer - 1)) !== 0) {
    problems.push('the retransmission buffer must be a power of two, at least 16 packets');
  }
  if (!Number.isInteger(config.maxMessageBytes) || config.maxMessageBytes < 1024 || config.maxMessageBytes > 16 * 1024 * 1024) {
    problems.push('max message size must be 1024 bytes to 16 MiB');
  }
  if (!PUBLISHER_FEEDBACK_CHOICES.includes(media.publisherFeedback)) problems.push(`publisher feedback must be one of ${PUBLISHER_FEEDBACK_CHOICES.join(', ')}`);
  if (!WS_ENGINE_CHOICES.includes(config.wsEngine)) problems.push(`WebSocket engine must be one of ${WS_ENGINE_CHOICES.join(', ')}`);
  if (!(config.idleTimeoutMs >= 1000)) problems.push('idle timeout must be at least 1000 ms');
  if (!(media.connectTimeoutMs >= 100)) problems.push('the connect timeout must be at least 100 ms');
  const atLeastOne: Array<[string, number]> = [
    ['max tracks per participant', media.maxTracksPerParticipant],
    ['max candidates', media.maxRemoteCandidates],
    ['max participants per room', config.limits.maxParticipantsPerRoom],
    ['max connections', config.limits.maxConnections],
    ['max messages per second', config.limits.maxMessagesPerSecond],
  ];
  for (const [name, value] of atLeastOne) if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be at least 1`);
  const idProblem = nodeIdProblem(config.nodeId);
  if (idProblem) problems.push(idProblem);
  if (config.cluster) problems.push(...clusterProblems(config.cluster));
  if (config.cluster?.mediaGateway === 'worker' && config.workers !== 1) {
    problems.push(`the media gateway can run inside the media worker only with one worker (there are ${config.workers}): use --media-gateway thread or auto`);
  }
  if (config.auth?.algorithm === 'HS256' && config.auth.secret.length < MIN_SECRET_BYTES) {
    problems.push(`the auth secret must be at least ${MIN_SECRET_BYTES} bytes (it is ${config.auth.secret.length}); e.g. openssl rand -base64 48`);
  }
  return problems;
}

function clusterProblems(cluster: ClusterConfig): string[] {
  const problems: string[] = [];
  if (cluster.servers.length === 0) problems.push('the NATS server list is empty');
  for (const server of cluster.servers) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s]+$|^[^\s:/]+(:\d+)?$/.test(server)) problems.push(`"${server}" is not a NATS URL (nats://host:port)`);
  }
  if (!(cluster.nodeTimeoutMs >= 1000)) problems.push('the node timeout must be at least 1000 ms');
  if (![1, 3, 5].includes(cluster.kvReplicas)) problems.push('KV replicas must be 1, 3 or 5');
  if (!(cluster.connectTimeoutMs >= 0)) problems.push('the NATS connect timeout must not be negative');
  if (!MEDIA_GATEWAY_CHOICES.includes(cluster.mediaGateway)) problems.push(`the media gateway placement must be one of ${MEDIA_GATEWAY_CHOICES.join(', ')}`);
  return problems;
}
