import { setTimeout as sleep } from 'node:timers/promises';
import { StorageType, type KV, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config.js';
import { DeletionMarkers } from './deletion-markers.js';
import { KvRoomStore } from './kv-room-store.js';
import { errorMessage } from './kv-errors.js';
import { ConnectionStatus, connectToNats } from './nats-connection.js';
import { heartbeatIntervalMs } from './node-liveness.js';
import { CLEANUP_BUCKET, CLEANUP_TTL_MS, STATE_BUCKET } from './state-keys.js';
import { MAX_RECORD_BYTES } from './state-records.js';

/** A node's membership of a cluster: its room store and its NATS connection (for cross-node media and data too). */
export interface Cluster {
  /** Started: the bucket exists, the view is current, the previous life is removed, the heartbeat runs. */
  store: KvRoomStore;
  connection: NatsConnection;
  /** Connected now or not, with `disconnected` / `reconnected` events. */
  status: ConnectionStatus;
  /** Graceful leave: the store deletes this node's records at once, then the connection drains. */
  close(): Promise<void>;
}

/** Timeout of each JetStream request (KV reads and writes), ms. */
const KV_TIMEOUT_MS = 3000;
/** Deletion markers stay this long in the state bucket (watchers away longer resync anyway), ms. */
const MARKER_RETENTION_MS = 3600_000;
/** Longest the connection may take to drain at close, ms. */
const DRAIN_TIMEOUT_MS = 2000;
/** Waits between attempts to open the bucket while JetStream is not ready, ms. */
const BUCKET_RETRY_MS = 500;

/**
 * Joins the cluster of `config.cluster`: connects to NATS (retrying with a
 * log line per attempt up to `connectTimeoutMs`, then throwing an Error that
 * names the URLs), opens the state bucket (created with `kvReplicas` if it
 * does not exist yet), and starts the store. Everything up to a started
 * store is bounded by `connectTimeoutMs` (at least 10 s once connected:
 * JetStream may still be electing its leaders when the servers accept clients).
 */
export async function openCluster(config: NodeConfig, parentLog: Logger): Promise<Cluster> {
  const settings = config.cluster;
  if (!settings) throw new Error('openCluster needs a cluster configuration (--nats)');
  const log = parentLog.child({ node: config.nodeId });
  const started = Date.now();
  const connection = await connectToNats({
    servers: settings.servers,
    name: config.nodeId,
    connectTimeoutMs: settings.connectTimeoutMs,
    pingIntervalMs: Math.max(1000, heartbeatIntervalMs(settings.nodeTimeoutMs)),
    log,
  });
  const deadline = Math.max(started + settings.connectTimeoutMs, Date.now() + 10_000);
  let store: KvRoomStore | undefined;
  try {
    const status = new ConnectionStatus(connection, log);
    const buckets = await openBuckets(connection, settings.kvReplicas, deadline, log);
    const markers = new DeletionMarkers({
      jsm: await connection.jetstreamManager({ timeout: KV_TIMEOUT_MS, checkAPI: false }),
      stream: `KV_${STATE_BUCKET}`,
      subjectPrefix: `$KV.${STATE_BUCKET}.`,
      retentionMs: MARKER_RETENTION_MS,
      log,
    });
    store = new KvRoomStore({ ...buckets, markers, status, nodeId: config.nodeId, nodeTimeoutMs: settings.nodeTimeoutMs, log });
    await beforeDeadline(store.start(), deadline, 'the cluster state could not be read');
    const ready = store;
    return {
      store,
      connection,
      status,
      close: async () => {
        await ready.close();
        // drain() waits for the server: bounded, in case NATS went away meanwhile.
        await Promise.race([connection.drain().catch(() => {}), sleep(DRAIN_TIMEOUT_MS)]);
        if (!connection.isClosed()) await connection.close();
      },
    };
  } catch (error) {
    await store?.close().catch(() => {});
    await connection.close();
    throw error;
  }
}

/** The buckets of the cluster: the state (watched by every node) and the cleanup elections. */
export interface ClusterBuckets {
  state: KV;
  cleanups: KV;
}

/**
 * Opens the buckets, creating them if needed with `replicas` copies and file
 * storage. The state bucket keeps only the current value of a key (history
 * 1), values up to MAX_RECORD_BYTES, and is read from the stream leader (not
 * a possibly lagging replica: claims read before they compare-and-set). The
 * cleanup bucket's keys expire after CLEANUP_TTL_MS. Retried while JetStream
 * is not ready, until `deadline`.
 */
export async function openBuckets(connection: NatsConnection, replicas: number, deadline: number, log: Logger): Promise<ClusterBuckets> {
  const js = connection.jetstream({ timeout: KV_TIMEOUT_MS });
  const common = { replicas, history: 1, storage: StorageType.File, allow_direct: false };
  for (let attempt = 1; ; attempt++) {
    try {
      const state = await js.views.kv(STATE_BUCKET, { ...common, maxValueSize: MAX_RECORD_BYTES, description: 'Shoal cluster state: rooms, participants, tracks, identity holders, node heartbeats' });
      const cleanups = await js.views.kv(CLEANUP_BUCKET, { ...common, maxValueSize: 256, ttl: CLEANUP_TTL_MS, description: 'Shoal: who removes what a gone node left (one key per removal)' });
      const status = await state.status();
      if (status.replicas !== replicas) log.warn({ bucket: STATE_BUCKET, replicas: status.replicas, configured: replicas }, 'the state bucket exists with another replica count; keeping it (change it with `nats stream edit`)');
      // A bucket just created has no stream leader for a moment: writes would find no responder.
      if (status.replicas > 1 && !status.streamInfo.cluster?.leader) throw new Error('the bucket has no leader yet');
      return { state, cleanups };
    } catch (error) {
      if (Date.now() + BUCKET_RETRY_MS > deadline) throw new Error(`JetStream KV bucket ${STATE_BUCKET} could not be opened: ${errorMessage(error)} (is JetStream enabled on the servers, with ${replicas} of them for ${replicas} replicas?)`);
      log.warn({ bucket: STATE_BUCKET, attempt, error: errorMessage(error) }, 'JetStream not ready; retrying');
      await sleep(BUCKET_RETRY_MS);
    }
  }
}

async function beforeDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const ms = Math.max(0, deadline - Date.now());
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
