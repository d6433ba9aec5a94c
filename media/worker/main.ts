/**
 * Entry point of a media worker thread. Loads a private copy of the
 * node-datachannel addon, serves the control plane's requests, and on any
 * fatal error closes every connection and releases the addon before exiting,
 * so the rest of the node keeps running.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { guarded, onCallbackError } from '../binding/guard-callbacks.js';
import { loadPrivateBinding } from '../binding/load-binding.js';
import { PortMediaBus } from '../bus/port-media-bus.js';
import { HostedGateway } from '../gateway/hosted-gateway.js';
import { checkUdpPortFree } from '../transport/udp-port-check.js';
import { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import { libdatachannelLogKey } from './log-keys.js';
import { MediaWorker } from './media-worker.js';
import { WorkerRequestError } from './request-error.js';
import type { WorkerControlMessage, WorkerEvent, WorkerInit, WorkerLogMessage, WorkerRequestMessage, WorkerResponseMessage, WorkerStats } from './protocol.js';

const STATS_INTERVAL_MS = 1000;

const init = workerData as WorkerInit;
const port = parentPort!;
// Log lines go to the main thread, which writes them where the node's own go.
const log = pino({ level: init.logLevel, base: { worker: init.workerId } }, { write: (line: string) => port.postMessage({ kind: 'log', line } satisfies WorkerLogMessage) });
const post = (message: WorkerEvent | WorkerResponseMessage) => port.postMessage(message);

// Warnings and errors a client can cause: a few lines per kind and window, the rest counted.
const limitedLog = new RateLimitedLog(log);

// Before the addon is loaded: a worker that ends holding it aborts the process.
const { bindAddress, portRangeBegin, portRangeEnd } = init.settings;
if (portRangeBegin === portRangeEnd) await checkUdpPortFree(bindAddress, portRangeBegin);

const binding = loadPrivateBinding(`worker${init.workerId}`);
onCallbackError((error) => limitedLog.error('media callback failed', { err: error }, 'media callback failed'));
binding.initLogger(
  'Warning',
  guarded((level, message) => {
    const key = libdatachannelLogKey(message);
    if (level === 'Warning') limitedLog.warn(key, { libdatachannel: level }, message);
    else limitedLog.error(key, { libdatachannel: level }, message);
  }),
);

const bus = new PortMediaBus(init.nodeId, (error) => limitedLog.error('media bus message failed', { err: error }, 'media bus message failed'));
const worker = new MediaWorker(init.nodeId, init.workerId, binding, init.settings, bus, (event) => post({ kind: 'event', ...event } as WorkerEvent), log, limitedLog);
const gateway = init.gatewayServers ? new HostedGateway(init.nodeId, init.workerId, bus, log.child({ gateway: 'in-worker' }), limitedLog) : undefined;
let exiting = false;

function stats(): WorkerStats {
  return gateway ? { ...worker.stats(), gateway: gateway.stats() } : worker.stats();
}

/** Closes every connection and releases the addon; the thread can then end. */
function release(): void {
  if (exiting) return;
  exiting = true;
  clearInterval(statsTimer);
  try {
    worker.closeAll();
    limitedLog.flush();
  } finally {
    binding.cleanup();
    port.close();
  }
}

// A rejected promise nobody awaited is a bug, but one that leaves no native state half changed:
// the worker reports it and carries on (every connection on it would be lost otherwise).
process.on('unhandledRejection', (reason) => {
  limitedLog.error('unhandled rejection', { err: reason }, 'unhandled rejection in the media worker (a bug); carrying on');
});

process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'media worker failed; closing its connections');
  release();
  process.exit(1);
});

port.on('message', (message: WorkerControlMessage) => {
  if (message.kind === 'busPeer') {
    bus.addPeer(message.peerWorkerId, message.port);
    return;
  }
  // Nothing a request does may escape as an uncaught exception or unhandled rejection: that ends the worker.
  serve(message).catch((error) => limitedLog.error(`unanswered:${message.method}`, { err: error, method: message.method }, 'request could not be answered'));
});

async function serve(message: WorkerRequestMessage): Promise<void> {
  const response: WorkerResponseMessage = { kind: 'response', id: message.id };
  try {
    if (message.method === 'shutdown') await gateway?.close();
    const handler = message.method === 'getStats' ? stats : (worker.handlers[message.method] as (params: unknown) => unknown);
    response.result = await handler(message.params);
  } catch (error) {
    const code = error instanceof WorkerRequestError ? error.code : 'INTERNAL';
    if (code === 'INTERNAL') limitedLog.error(`failed:${message.method}`, { err: error, method: message.method }, 'request failed');
    response.error = { code, message: (error as Error).message };
  }
  if (exiting) return;
  post(response);
  if (message.method === 'shutdown') release();
}

const statsTimer = setInterval(guarded(() => post({ kind: 'event', type: 'stats', stats: stats() })), STATS_INTERVAL_MS);

/** Ready to be given participants: at once, or once the hosted gateway reached NATS. */
async function announceReady(): Promise<void> {
  if (gateway && !(await gateway.connect(init.gatewayServers!))) return;
  post({ kind: 'event', type: 'ready', libraryVersion: binding.getLibraryVersion() });
  log.debug({ settings: init.settings, hostsGateway: gateway !== undefined }, 'media worker ready');
}
void announceReady();
