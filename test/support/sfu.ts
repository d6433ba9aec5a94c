import pino, { type DestinationStream } from 'pino';
import { DEFAULT_CONFIG, type NodeConfig } from '../../control/config.js';
import { loadNativeUws } from '../../control/http/engine.js';
import type { WsEngine } from '../../control/http/listener.js';
import { ShoalNode } from '../../control/node.js';
import { freeUdpPorts } from '../../bench/harness/ports.js';

export { freeUdpPorts };

export interface TestSfu {
  node: ShoalNode;
  /** ws://127.0.0.1:PORT/ws (wss:// with `tls`) */
  url: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/** The WebSocket engines that work in this process: uws where a native build loads, ws always. */
export function wsEngines(): WsEngine[] {
  return 'uws' in loadNativeUws() ? ['uws', 'ws'] : ['ws'];
}

/** An in-process Shoal node on loopback: HTTP on a free port, media bound to 127.0.0.1; `wsEngine` picks the WebSocket engine. */
export type SfuOverrides = Partial<Omit<NodeConfig, 'media' | 'limits'>> & {
  media?: Partial<NodeConfig['media']>;
  limits?: Partial<NodeConfig['limits']>;
  /** Where the node's log lines go (its workers' too); stderr when not given. */
  logDestination?: DestinationStream;
};

export async function startSfu({ logDestination, ...overrides }: SfuOverrides = {}): Promise<TestSfu> {
  const workers = overrides.workers ?? 1;
  const config: NodeConfig = {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    workers,
    logLevel: process.env.SHOAL_TEST_LOG ?? 'silent',
    udpPort: await freeUdpPorts(workers),
    ...overrides,
    media: { ...DEFAULT_CONFIG.media, bindAddress: '127.0.0.1', ...overrides.media },
    limits: { ...DEFAULT_CONFIG.limits, ...overrides.limits },
  };
  const log = pino({ level: config.logLevel }, logDestination ?? pino.destination(2));
  const node = new ShoalNode(config, log);
  await node.start();
  const secure = config.tls ? 's' : '';
  return {
    node,
    url: `ws${secure}://127.0.0.1:${node.port}/ws`,
    httpUrl: `http${secure}://127.0.0.1:${node.port}`,
    stop: () => node.stop(),
  };
}
