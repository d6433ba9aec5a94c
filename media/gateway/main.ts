/**
 * Entry point of the node's media gateway thread: one NATS connection for
 * media between nodes, and a port to every media worker. It never loads
 * node-datachannel (it only moves encoded payloads).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import type { WorkerLogMessage, WorkerResponseMessage } from '../worker/protocol.js';
import { MediaGateway } from './media-gateway.js';
import { closeGateway, connectGateway } from './nats-connect.js';
import type { GatewayEvent, GatewayInit, GatewayRequests } from './protocol.js';

const STATS_INTERVAL_MS = 1000;

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

async function shutdown(): Promise<void> {
  stopping = true;
  clearInterval(statsTimer);
  await closeGateway(gateway, nc);
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
void connectGateway(gateway, { nodeId: init.nodeId, servers: init.servers, log, limitedLog, stopping: () => stopping }).then((connection) => {
  if (!connection) return;
  nc = connection;
  post({ kind: 'event', type: 'ready' });
});
