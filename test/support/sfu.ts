import { createSocket } from 'node:dgram';
import pino from 'pino';
import { DEFAULT_CONFIG, type NodeConfig } from '../../control/config.js';
import { ShoalNode } from '../../control/node.js';

export interface TestSfu {
  node: ShoalNode;
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/** Whether a UDP port is free on 127.0.0.1 right now. */
function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** `count` consecutive free UDP ports (test files run in parallel inside one network namespace). */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => udpPortFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free UDP ports');
}

/** An in-process Shoal node on loopback: HTTP on a free port, media bound to 127.0.0.1. */
export type SfuOverrides = Partial<Omit<NodeConfig, 'media'>> & { media?: Partial<NodeConfig['media']> };

export async function startSfu(overrides: SfuOverrides = {}): Promise<TestSfu> {
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
  };
  const log = pino({ level: config.logLevel }, pino.destination(2));
  const node = new ShoalNode(config, log);
  await node.start();
  return {
    node,
    url: `ws://127.0.0.1:${node.port}/ws`,
    httpUrl: `http://127.0.0.1:${node.port}`,
    stop: () => node.stop(),
  };
}
