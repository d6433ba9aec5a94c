import type { BusPort } from './in-thread-port.js';

/** The peer id of the node's NATS gateway on the in-process media bus (workers are 0, 1, ...). */
export const GATEWAY_PEER = -1;

/** Where a track comes from: the node and the worker of that node that receive it from its publisher. */
export interface TrackOwner {
  nodeId: string;
  workerId: number;
}

/** What travels on a port between two peers of the in-process media bus (workers and the gateway). */
export type PortMessage =
  /**
   * The sender wants (or no longer wants) a track's RTP. Sent to the track's
   * owner only: its worker on this node, or the gateway (naming the owner) for
   * a track of another node; from the gateway to an owner worker when another
   * node wants the track.
   */
  | { t: 'interest'; trackId: string; on: boolean; owner?: TrackOwner }
  /** One encoded TrackPackets per track: `payloads[i]` carries packets of `trackIds[i]`. */
  | { t: 'packets'; trackIds: string[]; payloads: Uint8Array[] };

/**
 * The payloads waiting for one peer, posted as one message at the end of the
 * event-loop turn with their buffers transferred, not copied.
 */
export class PortOutbox {
  private trackIds: string[] = [];
  private payloads: Uint8Array[] = [];

  constructor(readonly port: BusPort) {}

  /** Queues a payload; it must own its whole ArrayBuffer, which is transferred. */
  add(trackId: string, payload: Uint8Array): void {
    this.trackIds.push(trackId);
    this.payloads.push(payload);
  }

  flush(): void {
    if (this.payloads.length === 0) return;
    const message: PortMessage = { t: 'packets', trackIds: this.trackIds, payloads: this.payloads };
    const transfer = this.payloads.map((p) => p.buffer as ArrayBuffer);
    this.trackIds = [];
    this.payloads = [];
    this.port.postMessage(message, transfer);
  }

  post(message: PortMessage): void {
    this.port.postMessage(message);
  }
}

/** Runs `flush` once at the end of the event-loop turn, however often it was asked to within the turn. */
export class TurnFlush {
  private scheduled = false;

  constructor(
    private readonly flush: () => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    try {
      this.flush();
    } catch (error) {
      this.onError(error);
    }
  };
}
