import { createSocket } from 'node:dgram';

/** The error code binding a UDP port on `address` gives right now (EADDRINUSE, say), or undefined when it is free. */
export function udpBindError(address: string, port: number): Promise<string | undefined> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? error.message);
    });
    socket.bind(port, address, () => socket.close(() => resolve(undefined)));
  });
}

/**
 * Fails with a clear error when the worker's UDP mux port is already bound
 * (another program, or a second node given the same --udp-port): libjuice
 * would otherwise fail to gather on it, and node-datachannel turns that into
 * a process abort.
 */
export async function checkUdpPortFree(address: string, port: number): Promise<void> {
  const error = await udpBindError(address, port);
  if (error === undefined) return;
  throw new Error(error === 'EADDRINUSE' ? `UDP port ${port} on ${address} is already in use (another program, or another node with the same --udp-port): choose another --udp-port` : `cannot bind UDP port ${port} on ${address}: ${error}`);
}
