import { createSocket } from 'node:dgram';

/**
 * Fails with a clear error when the worker's UDP mux port is already bound
 * (another program, or a second node given the same --udp-port): libjuice
 * would otherwise fail to gather on it, and node-datachannel turns that into
 * a process abort.
 */
export function checkUdpPortFree(address: string, port: number): Promise<void> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      const taken = error.code === 'EADDRINUSE';
      reject(new Error(taken ? `UDP port ${port} on ${address} is already in use (another program, or another node with the same --udp-port): choose another --udp-port` : `cannot bind UDP port ${port} on ${address}: ${error.message}`));
    });
    socket.bind(port, address, () => socket.close(() => resolve()));
  });
}
