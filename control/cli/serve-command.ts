import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { DEFAULT_CLUSTER, DEFAULT_CONFIG, MEDIA_GATEWAY_CHOICES, validateConfig, type MediaGatewayPlacement, type NodeConfig } from '../config.js';
import { WS_ENGINE_CHOICES, type WsEngineChoice } from '../http/engine.js';
import { parseOrigins } from '../http/origins.js';
import { loadTlsFiles, TlsOptionError, type TlsFiles } from '../http/tls.js';
import { containUncaughtErrors } from '../logging/contain-uncaught.js';
import { createLogger } from '../logging/logger.js';
import { ShoalNode } from '../node.js';
import { AuthOptionError, verificationKey } from './auth-options.js';
import { integer } from './validators.js';
import { PUBLISHER_FEEDBACK_CHOICES, type PublisherFeedback } from '../../media/worker/protocol.js';
import { parseIceServers, type IceServer } from '../whip/ice-servers.js';

/** `shoal serve`: runs a node until SIGTERM/SIGINT, then drains and exits 0. */
export class ServeCommand extends Command {
  static override paths = [['serve'], Command.Default];

  static override usage = Command.Usage({
    description: 'Run a Shoal SFU node',
    details: `
      Starts the media workers and the HTTP/WebSocket listener: signaling on /ws, WHIP on /whip/ROOM and
      WHEP on /whep/ROOM (docs/whip-whep.md), the demo page on /, GET /healthz and GET /stats. Every option can also be set by the environment variable named
      with it. SIGTERM or SIGINT drains the node (no new joins, clients told, connections closed) and
      exits 0.

      Media: worker i listens on UDP port \`--udp-port\` + i for all its peers (ICE UDP mux), or on its
      share of \`--udp-port-range\` when that is set.

      TLS: with \`--tls-cert\` and \`--tls-key\` the listener speaks https and wss only; or run it behind a
      reverse proxy that terminates TLS (docs/deploy.md).
    `,
    examples: [
      ['Run with defaults (all interfaces, port 8080, one worker per core)', '$0 serve'],
      ['Run on loopback with two workers', '$0 serve --host 127.0.0.1 --rtc-bind 127.0.0.1 --workers 2'],
      ['Serve https and wss:// itself', '$0 serve --port 443 --tls-cert /etc/shoal/fullchain.pem --tls-key /etc/shoal/privkey.pem'],
    ],
  });

  host = Option.String('--host', DEFAULT_CONFIG.host, { env: 'SHOAL_HOST', description: `Address the HTTP/WebSocket listener binds to; default ${DEFAULT_CONFIG.host} (env SHOAL_HOST)` });
  port = Option.String('--port', String(DEFAULT_CONFIG.port), { env: 'SHOAL_PORT', validator: integer, description: `HTTP/WebSocket port, 0 picks a free one; default ${DEFAULT_CONFIG.port} (env SHOAL_PORT)` });
  tlsCert = Option.String('--tls-cert', { env: 'SHOAL_TLS_CERT', description: 'PEM certificate chain file: the listener then speaks TLS itself (https, wss://HOST/ws), with --tls-key; default plain HTTP (env SHOAL_TLS_CERT)' });
  tlsKey = Option.String('--tls-key', { env: 'SHOAL_TLS_KEY', description: 'PEM private key file of that certificate (env SHOAL_TLS_KEY)' });
  rtcBind = Option.String('--rtc-bind', DEFAULT_CONFIG.media.bindAddress, { env: 'SHOAL_RTC_BIND', description: `Address the media UDP sockets bind to; default ${DEFAULT_CONFIG.media.bindAddress} (env SHOAL_RTC_BIND)` });
  udpPort = Option.String('--udp-port', String(DEFAULT_CONFIG.udpPort), { env: 'SHOAL_UDP_PORT', validator: integer, description: `UDP port of worker 0; worker i uses this + i for all its peers; default ${DEFAULT_CONFIG.udpPort} (env SHOAL_UDP_PORT)` });
  udpPortRange = Option.String('--udp-port-range', { env: 'SHOAL_UDP_PORT_RANGE', description: 'UDP port range BEGIN-END shared out between workers instead of one muxed port each (env SHOAL_UDP_PORT_RANGE)' });
  announcedIp = Option.String('--announced-ip', { env: 'SHOAL_ANNOUNCED_IP', description: 'Public IP to put in ICE candidates, for a node behind 1:1 NAT (env SHOAL_ANNOUNCED_IP)' });
  workers = Option.String('--workers', String(DEFAULT_CONFIG.workers), { env: 'SHOAL_WORKERS', validator: integer, description: 'Number of media worker threads; default: number of cores (env SHOAL_WORKERS)' });
  roomWorkerCapacity = Option.String('--room-worker-capacity', String(DEFAULT_CONFIG.roomWorkerCapacity), { env: 'SHOAL_ROOM_WORKER_CAPACITY', validator: integer, description: `Participants of one room a worker takes before the room spreads; default ${DEFAULT_CONFIG.roomWorkerCapacity} (env SHOAL_ROOM_WORKER_CAPACITY)` });
  maxBitrate = Option.String('--max-publisher-bitrate', String(DEFAULT_CONFIG.media.maxPublisherBitrate), { env: 'SHOAL_MAX_PUBLISHER_BITRATE', validator: integer, description: `Highest bitrate advertised to publishers (REMB), bit/s; default ${DEFAULT_CONFIG.media.maxPublisherBitrate} (env SHOAL_MAX_PUBLISHER_BITRATE)` });
  publisherFeedback = Option.String('--publisher-feedback', DEFAULT_CONFIG.media.publisherFeedback, { env: 'SHOAL_PUBLISHER_FEEDBACK', validator: t.isEnum(PUBLISHER_FEEDBACK_CHOICES), description: `Congestion-control feedback for publishers: remb (a loss-based REMB every 250 ms; transport-cc removed from their offers) or twcc (transport-cc feedback from the packets' arrival times every 50 ms, no REMB); default ${DEFAULT_CONFIG.media.publisherFeedback} (env SHOAL_PUBLISHER_FEEDBACK)` });
  maxMessageBytes = Option.String('--max-message-size', String(DEFAULT_CONFIG.maxMessageBytes), { env: 'SHOAL_MAX_MESSAGE_SIZE', validator: integer, description: `Largest signaling frame or data message accepted, bytes; default ${DEFAULT_CONFIG.maxMessageBytes} (env SHOAL_MAX_MESSAGE_SIZE)` });
  drainTimeout = Option.String('--drain-timeout', String(DEFAULT_CONFIG.drainTimeoutMs), { env: 'SHOAL_DRAIN_TIMEOUT', validator: integer, description: `Longest a drain may take before the node exits anyway (exit code 1), ms; default ${DEFAULT_CONFIG.drainTimeoutMs} (env SHOAL_DRAIN_TIMEOUT)` });
  maxTracks = Option.String('--max-tracks-per-participant', String(DEFAULT_CONFIG.media.maxTracksPerParticipant), { env: 'SHOAL_MAX_TRACKS_PER_PARTICIPANT', validator: integer, description: `Audio and video tracks one participant may publish; default ${DEFAULT_CONFIG.media.maxTracksPerParticipant} (env SHOAL_MAX_TRACKS_PER_PARTICIPANT)` });
  maxCandidates = Option.String('--max-candidates', String(DEFAULT_CONFIG.media.maxRemoteCandidates), { env: 'SHOAL_MAX_CANDIDATES', validator: integer, description: `Remote ICE candidates one connection accepts; default ${DEFAULT_CONFIG.media.maxRemoteCandidates} (env SHOAL_MAX_CANDIDATES)` });
  maxParticipants = Option.String('--max-participants-per-room', String(DEFAULT_CONFIG.limits.maxParticipantsPerRoom), { env: 'SHOAL_MAX_PARTICIPANTS_PER_ROOM', validator: integer, description: `Participants one room may have on this node; default ${DEFAULT_CONFIG.limits.maxParticipantsPerRoom} (env SHOAL_MAX_PARTICIPANTS_PER_ROOM)` });
  maxConnections = Option.String('--max-connections', String(DEFAULT_CONFIG.limits.maxConnections), { env: 'SHOAL_MAX_CONNECTIONS', validator: integer, description: `WebSocket connections this node accepts at once; default ${DEFAULT_CONFIG.limits.maxConnections} (env SHOAL_MAX_CONNECTIONS)` });
  maxMessageRate = Option.String('--max-messages-per-second', String(DEFAULT_CONFIG.limits.maxMessagesPerSecond), { env: 'SHOAL_MAX_MESSAGES_PER_SECOND', validator: integer, description: `Signaling and data messages one connection may send per second, sustained (bursts of twice that pass); default ${DEFAULT_CONFIG.limits.maxMessagesPerSecond} (env SHOAL_MAX_MESSAGES_PER_SECOND)` });
  authSecret = Option.String('--auth-secret', { env: 'SHOAL_AUTH_SECRET', description: 'Shared secret (at least 32 bytes) that access tokens are signed with, HS256; joins then need a token (env SHOAL_AUTH_SECRET)' });
  authSecretFile = Option.String('--auth-secret-file', { env: 'SHOAL_AUTH_SECRET_FILE', description: 'File holding that secret instead (env SHOAL_AUTH_SECRET_FILE)' });
  authPublicKey = Option.String('--auth-public-key', { env: 'SHOAL_AUTH_PUBLIC_KEY', description: 'PEM public key file that access tokens are checked with instead: P-256 EC (ES256) or RSA (RS256) (env SHOAL_AUTH_PUBLIC_KEY)' });
  wsEngine = Option.String('--ws-engine', DEFAULT_CONFIG.wsEngine, { env: 'SHOAL_WS_ENGINE', validator: t.isEnum(WS_ENGINE_CHOICES), description: `WebSocket engine: uws (uWebSockets.js, needs a native build for this Node.js), ws (the ws package) or auto (uws where it loads, else ws); default ${DEFAULT_CONFIG.wsEngine} (env SHOAL_WS_ENGINE)` });
  allowedOrigins = Option.String('--allowed-origins', { env: 'SHOAL_ALLOWED_ORIGINS', description: 'Comma-separated browser origins allowed to open the signaling WebSocket, e.g. https://meet.example.com; default any. Clients that send no Origin header are allowed (env SHOAL_ALLOWED_ORIGINS)' });
  iceServers = Option.String('--ice-servers', { env: 'SHOAL_ICE_SERVERS', description: 'Comma-separated STUN/TURN servers named to WHIP and WHEP clients in Link headers, each a URI with optional ;username=...;credential=..., e.g. turn:turn.example.net:3478?transport=udp;username=u;credential=p; default none (env SHOAL_ICE_SERVERS)' });
  nats = Option.String('--nats', { env: 'SHOAL_NATS_URL', description: 'Comma-separated NATS server URLs (nats://host:4222,...): the node joins that cluster, room state in JetStream KV; default none: the node runs alone, state in memory (env SHOAL_NATS_URL)' });
  nodeId = Option.String('--node-id', DEFAULT_CONFIG.nodeId, { env: 'SHOAL_NODE_ID', description: `Name of this node in the cluster, stable across restarts (A-Z, a-z, 0-9, _ and -); default from the host name: ${DEFAULT_CONFIG.nodeId} (env SHOAL_NODE_ID)` });
  nodeTimeout = Option.String('--node-timeout', String(DEFAULT_CLUSTER.nodeTimeoutMs), { env: 'SHOAL_NODE_TIMEOUT', validator: integer, description: `A node whose heartbeat (written every timeout/10) has not arrived for this long is dead: another node removes its participants, tracks and identities and everyone is told; a death is noticed after 0.6 to 0.9 of it, ms; default ${DEFAULT_CLUSTER.nodeTimeoutMs} (env SHOAL_NODE_TIMEOUT)` });
  kvReplicas = Option.String('--kv-replicas', String(DEFAULT_CLUSTER.kvReplicas), { env: 'SHOAL_KV_REPLICAS', validator: integer, description: `Replicas of the JetStream KV buckets shoal_state and shoal_cleanups when this node creates them (the first node to start does; later nodes use them as they are): 1, or 3 with three NATS servers or more (writes then need two of them up); default ${DEFAULT_CLUSTER.kvReplicas} (env SHOAL_KV_REPLICAS)` });
  mediaGateway = Option.String('--media-gateway', DEFAULT_CLUSTER.mediaGateway, { env: 'SHOAL_MEDIA_GATEWAY', validator: t.isEnum(MEDIA_GATEWAY_CHOICES), description: `Where the media gateway (RTP between nodes over NATS) runs: thread (a thread of its own, a peer of every worker), worker (inside the media worker: one thread hand-off fewer per NATS message each way; needs --workers 1) or auto (worker with one worker, else thread); default ${DEFAULT_CLUSTER.mediaGateway} (env SHOAL_MEDIA_GATEWAY)` });
  natsConnectTimeout = Option.String('--nats-connect-timeout', String(DEFAULT_CLUSTER.connectTimeoutMs), { env: 'SHOAL_NATS_CONNECT_TIMEOUT', validator: integer, description: `How long start-up retries an unreachable NATS (a warning per attempt, once a second) before it exits with code 1 and an error naming the URLs, ms; once connected, the node reconnects for ever; default ${DEFAULT_CLUSTER.connectTimeoutMs} (env SHOAL_NATS_CONNECT_TIMEOUT)` });
  logLevel = Option.String('--log-level', DEFAULT_CONFIG.logLevel, { env: 'SHOAL_LOG_LEVEL', validator: t.isEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), description: `Log level: fatal, error, warn, info, debug, trace or silent; default ${DEFAULT_CONFIG.logLevel} (env SHOAL_LOG_LEVEL)` });

  async execute(): Promise<number> {
    const log = createLogger(this.logLevel);
    const range = this.udpPortRange ? parseRange(this.udpPortRange) : undefined;
    if (this.udpPortRange && !range) {
      this.context.stderr.write(`--udp-port-range must look like 40000-40999, not "${this.udpPortRange}"\n`);
      return 2;
    }
    let auth;
    try {
      auth = verificationKey({ secret: this.authSecret, secretFile: this.authSecretFile, publicKeyFile: this.authPublicKey });
    } catch (error) {
      if (!(error instanceof AuthOptionError)) throw error;
      this.context.stderr.write(`${error.message}\n`);
      return 2;
    }
    let tls: TlsFiles | undefined;
    try {
      tls = loadTlsFiles(this.tlsCert, this.tlsKey);
    } catch (error) {
      if (!(error instanceof TlsOptionError)) throw error;
      this.context.stderr.write(`${error.message}\n`);
      return 2;
    }
    let allowedOrigins: string[];
    try {
      allowedOrigins = parseOrigins(this.allowedOrigins ?? '');
    } catch (error) {
      this.context.stderr.write(`--allowed-origins: ${(error as Error).message}\n`);
      return 2;
    }
    let iceServers: IceServer[];
    try {
      iceServers = parseIceServers(this.iceServers ?? '');
    } catch (error) {
      this.context.stderr.write(`--ice-servers: ${(error as Error).message}\n`);
      return 2;
    }
    const config: NodeConfig = {
      ...DEFAULT_CONFIG,
      host: this.host,
      port: Number(this.port),
      ...(tls ? { tls } : {}),
      workers: Number(this.workers),
      roomWorkerCapacity: Number(this.roomWorkerCapacity),
      maxMessageBytes: Number(this.maxMessageBytes),
      wsEngine: this.wsEngine as WsEngineChoice,
      allowedOrigins,
      iceServers,
      drainTimeoutMs: Number(this.drainTimeout),
      logLevel: this.logLevel,
      udpPort: Number(this.udpPort),
      ...(range ? { udpPortRange: range } : {}),
      nodeId: this.nodeId,
      ...(this.nats
        ? {
            cluster: {
              servers: this.nats.split(',').map((s) => s.trim()).filter((s) => s !== ''),
              nodeTimeoutMs: Number(this.nodeTimeout),
              kvReplicas: Number(this.kvReplicas),
              connectTimeoutMs: Number(this.natsConnectTimeout),
              mediaGateway: this.mediaGateway as MediaGatewayPlacement,
            },
          }
        : {}),
      ...(auth ? { auth } : {}),
      limits: {
        maxParticipantsPerRoom: Number(this.maxParticipants),
        maxConnections: Number(this.maxConnections),
        maxMessagesPerSecond: Number(this.maxMessageRate),
      },
      media: {
        ...DEFAULT_CONFIG.media,
        bindAddress: this.rtcBind,
        maxPublisherBitrate: Number(this.maxBitrate),
        publisherFeedback: this.publisherFeedback as PublisherFeedback,
        maxTracksPerParticipant: Number(this.maxTracks),
        maxRemoteCandidates: Number(this.maxCandidates),
        ...(this.announcedIp ? { announcedAddress: this.announcedIp } : {}),
      },
    };
    const problems = validateConfig(config);
    if (problems.length > 0) {
      this.context.stderr.write(`invalid options: ${problems.join('; ')}\n`);
      return 2;
    }
    containUncaughtErrors(log);
    let node: ShoalNode;
    try {
      node = new ShoalNode(config, log);
      await node.start();
    } catch (error) {
      log.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
      return 1;
    }
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info({ signal }, 'signal received');
    try {
      await node.stop();
      return 0;
    } catch (error) {
      log.error({ err: error }, 'drain did not finish');
      return 1;
    }
  }
}

function parseRange(value: string): [number, number] | undefined {
  const match = /^(\d+)-(\d+)$/.exec(value);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}
