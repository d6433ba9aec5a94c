import { EventEmitter } from 'node:events';
import type { PortMessage } from './port-link.js';

/**
 * What a bus peer needs of the port to another peer: a MessagePort between
 * two threads, or an InThreadPort when both ends run in the same thread.
 */
export interface BusPort {
  postMessage(message: PortMessage, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (message: PortMessage) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  close(): void;
}

/**
 * One end of a port whose two ends are in the same thread (the media gateway
 * hosted by a node's only worker). A message is handed to the other end by
 * reference in a microtask: in order, after the sender's current callback,
 * but in the same event-loop turn, with no copy and no wake-up of the loop,
 * which a MessageChannel costs even between two ends in one thread. Buffers
 * "transferred" stay shared: the sender must not touch them again, as with a
 * MessagePort. Listeners must not throw (the bus and the gateway guard
 * theirs): an exception here would be uncaught.
 */
export class InThreadPort extends EventEmitter implements BusPort {
  private other: InThreadPort | undefined;
  private closed = false;

  /** Two connected ends. */
  static pair(): [InThreadPort, InThreadPort] {
    const a = new InThreadPort();
    const b = new InThreadPort();
    a.other = b;
    b.other = a;
    return [a, b];
  }

  private constructor() {
    super();
  }

  postMessage(message: PortMessage): void {
    const other = this.other;
    if (this.closed || !other) return;
    queueMicrotask(() => other.emit('message', message));
  }

  /** Closes both ends: messages posted before arrive, then each end emits 'close', as MessagePorts do. */
  close(): void {
    const other = this.other;
    if (this.closed || !other) return;
    this.closed = true;
    other.closed = true;
    queueMicrotask(() => {
      this.emit('close');
      other.emit('close');
    });
  }
}
