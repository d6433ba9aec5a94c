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
import { MediaWorker } from './media-worker.js';
import { WorkerRequestError } from './request-error.js';
import type { WorkerControlMessage, WorkerEvent, WorkerInit, WorkerRequestMessage, WorkerResponseMessage } from './protocol.js';

const STATS_INTERVAL_MS = 1000;

const init = workerData as WorkerInit;
const port = parentPort!;
const log = pino({ level: init.logLevel, base: { worker: init.workerId } }, pino.destination({ fd: 1, sync: true }));
const post = (message: WorkerEvent | WorkerResponseMessage) => port.postMessage(message);

const binding = loadPrivateBinding(`worker${init.workerId}`);
onCallbackError((error) => log.error({ err: error }, 'media callback failed'));
binding.initLogger('Warning', (level, message) => log.warn({ libdatachannel: level }, message));

const bus = new PortMediaBus((error) => log.error({ err: error }, 'media bus message failed'));
const worker = new MediaWorker(init.workerId, binding, init.settings, bus, (event) => post({ kind: 'event', ...event } as WorkerEvent), log);
let exiting = false;

/** Closes every connection and releases the addon; the thread can then end. */
function release(): void {
  if (exiting) return;
  exiting = true;
  clearInterval(statsTimer);
  try {
    worker.closeAll();
  } finally {
    binding.cleanup();
    port.close();
  }
}

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
  serve(message).catch((error) => log.error({ err: error, method: message.method }, 'request could not be answered'));
});

async function serve(message: WorkerRequestMessage): Promise<void> {
  const response: WorkerResponseMessage = { kind: 'response', id: message.id };
  try {
    const handler = worker.handlers[message.method] as (params: unknown) => unknown;
    response.result = await handler(message.params);
  } catch (error) {
    const code = error instanceof WorkerRequestError ? error.code : 'INTERNAL';
    if (code === 'INTERNAL') log.error({ err: error, method: message.method }, 'request failed');
    response.error = { code, message: (error as Error).message };
  }
  if (exiting) return;
  post(response);
  if (message.method === 'shutdown') release();
}

const statsTimer = setInterval(guarded(() => post({ kind: 'event', type: 'stats', stats: worker.stats() })), STATS_INTERVAL_MS);
post({ kind: 'event', type: 'ready', libraryVersion: binding.getLibraryVersion() });
log.debug({ settings: init.settings }, 'media worker ready');
