import { createServer } from 'node:net';
import { udpBindError } from '../../media/transport/udp-port-check.js';

async function udpPortFree(port: number): Promise<boolean> {
  return (await udpBindError('127.0.0.1', port)) === undefined;
}

/** `count` consecutive UDP ports free on 127.0.0.1 (for an SFU's workers). */
export async function freeUdpPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => udpPortFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free UDP ports');
}

/** A TCP port free on 127.0.0.1 right now. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
