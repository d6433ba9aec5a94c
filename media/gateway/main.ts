/**
 * Entry point of the node's media gateway thread: one NATS connection for
 * media between nodes, and a port to every media worker. It never loads
 * node-datachannel (it only moves encoded payloads).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import type { WorkerLogMessage, WorkerResponseMessage } from '../worker/protocol.js';
import { MediaGateway } from './media-gateway.js';
import type { GatewayEvent, GatewayInit, GatewayRequests } from './protocol.js';

const STATS_INTERVAL_MS = 1000;
/** Between two attempts at the first connection, ms (nats.js reconnects by itself once connected). */
const FIRST_CONNECT_RETRY_MS = 1000;
/** How long a shutdown waits for the connection to drain, ms. */
const DRAIN_TIMEOUT_MS = 2000;

type ControlMessage =
  | { kind: 'request'; id: number; method: keyof GatewayRequests; params: unknown }
  | { kind: 'busPeer'; peerWorkerId: number; port: MessagePort };

const init = workerData as GatewayInit;
const port = parentPort!;
const log = pino({ level: init.logLevel, base: { node: init.nodeId, thread: 'media-gateway' } }, { write: (line: string) => port.postMessage({ kind: 'log', line } satisfies WorkerLogMessage) });
const limitedLog = new RateLimitedLog(log);
const post = (message: GatewayEvent | WorkerResponseMessage) => port.postMessage(message);

const gateway = new MediaGateway(init.nodeId, log, limitedLog);
let nc: NatsConnection | undefined;
let stopping = false;

process.on('unhandledRejection', (reason) => limitedLog.error('unhandled rejection', { err: reason }, 'unhandled rejection in the media gateway (a bug); carrying on'));
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'media gateway failed');
  process.exit(1);
});

/** Connects, retrying until it works or the gateway stops; then nats.js keeps the connection up for ever. */
async function connectToNats(): Promise<void> {
  for (let attempt = 1; !stopping; attempt++) {
    try {
      const connection = await connect({
        servers: init.servers,
        name: `shoal-media-${init.nodeId}`,
        // Never give up (the default gives up after 10 attempts per server); try every second.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        reconnectJitter: 200,
        // A silent server (a partition, not a closed socket) is noticed within 10 to 15 s.
        pingInterval: 5000,
        maxPingOut: 2,
        noEcho: true,
      });
      if (stopping) {
        await connection.close();
        return;
      }
      nc = connection;
      gateway.attach(connection);
      log.info({ servers: init.servers, server: connection.getServer() }, 'media gateway connected to NATS');
      post({ kind: 'event', type: 'ready' });
      return;
    } catch (error) {
      limitedLog.warn('nats connect', { err: error, servers: init.servers, attempt }, 'media gateway cannot reach NATS yet; retrying');
      await sleep(FIRST_CONNECT_RETRY_MS);
    }
  }
}

async function shutdown(): Promise<void> {
  stopping = true;
  clearInterval(statsTimer);
  gateway.close();
  if (nc) {
    const drained = nc.drain().catch(() => undefined);
    await Promise.race([drained, sleep(DRAIN_TIMEOUT_MS)]);
    if (!nc.isClosed()) await nc.close();
  }
  limitedLog.flush();
}

port.on('message', (message: ControlMessage) => {
  if (message.kind === 'busPeer') {
    gateway.addPeer(message.peerWorkerId, message.port);
    return;
  }
  void serve(message);
});

async function serve(message: Extract<ControlMessage, { kind: 'request' }>): Promise<void> {
  const response: WorkerResponseMessage = { kind: 'response', id: message.id };
  try {
    if (message.method === 'getStats') response.result = gateway.stats();
    else if (message.method === 'shutdown') await shutdown();
    else if (message.method === 'crash') {
      setImmediate(() => {
        throw new Error('crash requested');
      });
    }
    else throw new Error(`unknown request ${String(message.method)}`);
  } catch (error) {
    response.error = { code: 'INTERNAL', message: (error as Error).message };
  }
  post(response);
  // Nothing is left to keep the thread alive: it ends.
  if (message.method === 'shutdown') port.close();
}

const statsTimer = setInterval(() => post({ kind: 'event', type: 'stats', stats: gateway.stats() }), STATS_INTERVAL_MS);
void connectToNats();
