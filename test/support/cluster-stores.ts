import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, KvWatchInclude, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import pino, { type Logger } from 'pino';
import { newParticipantId, newTrackId } from '../../control/cluster/ids.js';
import { openCluster, type Cluster } from '../../control/cluster/open-cluster.js';
import { STATE_BUCKET } from '../../control/cluster/state-keys.js';
import { DEFAULT_CLUSTER, DEFAULT_CONFIG, type ClusterConfig } from '../../control/config.js';
import type { ParticipantRecord, RoomStoreEvents, TrackRecord } from '../../control/store/room-store.js';
import type { NatsCluster } from './nats.js';
import type { StoreMessage, StoreRequest } from './store-process.js';

/** The node timeout of cluster tests, ms: short, so that deaths are noticed in a few seconds. */
export const TEST_NODE_TIMEOUT_MS = 3000;

const EVENTS = ['participantAdded', 'participantRemoved', 'trackAdded', 'trackRemoved', 'identityClaimed'] as const;

/** A store event as a test saw it, with when (Date.now()). */
export interface SeenEvent {
  event: keyof RoomStoreEvents;
  payload: { participantId?: string; trackId?: string; room?: string; identity?: string; nodeId?: string };
  at: number;
}

export function clusterConfig(nats: NatsCluster, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return { ...DEFAULT_CLUSTER, servers: nats.urls, nodeTimeoutMs: TEST_NODE_TIMEOUT_MS, kvReplicas: 3, connectTimeoutMs: 10_000, ...overrides };
}

/** The stores' logs: silent unless SHOAL_TEST_LOG names a level (then on stderr). */
export function testLog(): Logger {
  return pino({ level: process.env.SHOAL_TEST_LOG ?? 'silent' }, pino.destination(2));
}

/** Polls `probe` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function participantRecord(nodeId: string, room: string, identity = `user-${Math.random().toString(36).slice(2, 8)}`): ParticipantRecord {
  return { participantId: newParticipantId(), room, identity, nodeId, workerId: 0, joinedAtMs: Date.now() };
}

export function trackRecord(participant: ParticipantRecord, kind: 'audio' | 'video' = 'video'): TrackRecord {
  return {
    trackId: newTrackId(),
    room: participant.room,
    participantId: participant.participantId,
    identity: participant.identity,
    kind,
    codec: kind === 'video' ? { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, channels: 0, fmtp: '' } : { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
    nodeId: participant.nodeId,
    workerId: participant.workerId,
  };
}

/** A cluster member in this process: `openCluster` with every store event recorded. */
export class TestStore {
  readonly events: SeenEvent[] = [];

  private constructor(
    readonly nodeId: string,
    readonly cluster: Cluster,
  ) {
    for (const event of EVENTS) cluster.store.on(event, (payload: SeenEvent['payload']) => this.events.push({ event, payload, at: Date.now() }));
  }

  static async open(nats: NatsCluster, nodeId: string, overrides: Partial<ClusterConfig> = {}, log = testLog()): Promise<TestStore> {
    return new TestStore(nodeId, await openCluster({ ...DEFAULT_CONFIG, nodeId, cluster: clusterConfig(nats, overrides) }, log));
  }

  get store(): Cluster['store'] {
    return this.cluster.store;
  }

  /** The first event of a kind about a participant or track id at or after `since`. */
  seen(event: keyof RoomStoreEvents, id: string, since = 0): SeenEvent | undefined {
    return this.events.find((e) => e.event === event && e.at >= since && (e.payload.participantId === id || e.payload.trackId === id));
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}

/** A cluster member in a child process (test/support/store-process.ts), for SIGKILL and SIGSTOP. */
export class StoreProcess {
  readonly events: SeenEvent[] = [];
  readonly logs: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(
    readonly nodeId: string,
    readonly child: ChildProcess,
  ) {}

  static async start(nats: NatsCluster, nodeId: string, overrides: Partial<ClusterConfig> = {}): Promise<StoreProcess> {
    const child = fork('dist/test/support/store-process.js', [], {
      env: { PATH: process.env.PATH, SHOAL_TEST_STORE: JSON.stringify({ nodeId, ...clusterConfig(nats, overrides) }) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const member = new StoreProcess(nodeId, child);
    child.stdout!.on('data', (chunk: Buffer) => member.logs.push(...chunk.toString().split('\n').filter(Boolean)));
    child.stderr!.on('data', (chunk: Buffer) => member.logs.push(chunk.toString()));
    const started = new Promise<void>((resolve, reject) => {
      child.on('message', (message: StoreMessage) => {
        if ('ready' in message) resolve();
        else if ('failed' in message) reject(new Error(`store process ${nodeId} failed: ${message.failed}`));
        else if ('event' in message) member.events.push({ event: message.event, payload: message.payload as SeenEvent['payload'], at: Date.now() });
        else member.settle(message);
      });
      child.once('exit', (code, signal) => reject(new Error(`store process ${nodeId} exited (${code ?? signal}): ${member.logs.slice(-5).join('\n')}`)));
    });
    await started;
    return member;
  }

  request(op: StoreRequest['op'], ...args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op, args } satisfies StoreRequest);
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` (SIGKILL: waits for the exit). */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.alive) return;
    const exited = signal === 'SIGKILL' ? once(this.child, 'exit') : undefined;
    this.child.kill(signal);
    await exited;
  }

  private settle(message: Extract<StoreMessage, { id: number }>): void {
    const waiter = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.ok) waiter?.resolve(message.result);
    else waiter?.reject(new Error(message.error));
  }
}

/** An entry of the state bucket as a bystander watched it. */
export interface BucketEntry {
  key: string;
  operation: string;
  revision: number;
  at: number;
}

/**
 * Every change of the state bucket from now on, seen by a plain NATS client
 * (no store): to count how many times a key was deleted.
 */
export class BucketLog {
  readonly entries: BucketEntry[] = [];

  private constructor(
    private readonly connection: NatsConnection,
    readonly kv: KV,
  ) {}

  static async start(nats: NatsCluster): Promise<BucketLog> {
    const connection = await connect({ servers: nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const kv = await connection.jetstream().views.kv(STATE_BUCKET, { bindOnly: true, allow_direct: false }); // reads from the leader: current
    const log = new BucketLog(connection, kv);
    const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const e of watch) log.entries.push({ key: e.key, operation: e.operation, revision: e.revision, at: Date.now() });
    })();
    return log;
  }

  jetstreamManager(): Promise<JetStreamManager> {
    return this.connection.jetstreamManager();
  }

  /** Distinct deletions (DEL or PURGE revisions) of `key` seen. */
  deletions(key: string): number {
    return new Set(this.entries.filter((e) => e.key === key && e.operation !== 'PUT').map((e) => e.revision)).size;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** A logger that keeps its lines (parsed) in `lines`, for tests that check what was logged. */
export function memoryLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}
