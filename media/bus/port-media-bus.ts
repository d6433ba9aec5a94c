import type { MessagePort } from 'node:worker_threads';
import { shoal } from '../../proto/generated/shoal.js';
import { decodeBusFrames } from './bus-frames.js';
import type { BusSubscription, MediaBus } from './media-bus.js';

const { MediaFrameBatch, FrameKind } = shoal.media.v1;

/** What travels on a port between two workers. */
type PortMessage = { t: 'interest'; trackId: string; on: boolean } | { t: 'frames'; data: Uint8Array };

interface Peer {
  workerId: number;
  port: MessagePort;
  pending: shoal.media.v1.MediaFrame.$Properties[];
}

interface TrackSubscription {
  handlers: Set<(packet: Buffer) => void>;
  /** The peer the track's packets come from, once one arrived: where feedback goes. */
  source?: Peer;
}

/**
 * The media bus between the workers of one node: a MessagePort to every other
 * worker. Frames are batched per event-loop turn into one protobuf
 * MediaFrameBatch and its buffer is transferred, not copied. Media never leaves
 * the process.
 */
export class PortMediaBus implements MediaBus {
  private readonly peers = new Map<number, Peer>();
  private readonly subscriptions = new Map<string, TrackSubscription>();
  private readonly producers = new Map<string, (rtcp: Uint8Array) => void>();
  /** Track id → peers that subscribed to it. */
  private readonly interest = new Map<string, Set<Peer>>();
  private flushScheduled = false;

  constructor(private readonly onError: (error: unknown) => void) {}

  addPeer(workerId: number, port: MessagePort): void {
    this.removePeer(workerId);
    const peer: Peer = { workerId, port, pending: [] };
    this.peers.set(workerId, peer);
    port.on('message', (message: PortMessage) => {
      try {
        this.receive(peer, message);
      } catch (error) {
        this.onError(error);
      }
    });
    port.on('close', () => this.removePeer(workerId, peer));
    for (const trackId of this.subscriptions.keys()) this.post(peer, { t: 'interest', trackId, on: true });
  }

  removePeer(workerId: number, only?: Peer): void {
    const peer = this.peers.get(workerId);
    if (!peer || (only && peer !== only)) return;
    this.peers.delete(workerId);
    for (const peers of this.interest.values()) peers.delete(peer);
    for (const sub of this.subscriptions.values()) if (sub.source === peer) delete sub.source;
    peer.port.close();
  }

  publishRtp(trackId: string, packet: Uint8Array): void {
    const peers = this.interest.get(trackId);
    if (!peers || peers.size === 0) return;
    for (const peer of peers) this.enqueue(peer, { trackId, kind: FrameKind.RTP, packet });
  }

  registerProducer(trackId: string, onFeedback: (rtcp: Uint8Array) => void): () => void {
    this.producers.set(trackId, onFeedback);
    return () => {
      if (this.producers.get(trackId) === onFeedback) this.producers.delete(trackId);
    };
  }

  subscribe(trackId: string, onRtp: (packet: Buffer) => void): BusSubscription {
    let sub = this.subscriptions.get(trackId);
    if (!sub) {
      sub = { handlers: new Set() };
      this.subscriptions.set(trackId, sub);
      for (const peer of this.peers.values()) this.post(peer, { t: 'interest', trackId, on: true });
    }
    sub.handlers.add(onRtp);
    const subscription = sub;
    return {
      sendFeedback: (rtcp) => {
        const frame = { trackId, kind: FrameKind.FEEDBACK, packet: rtcp };
        if (subscription.source) this.enqueue(subscription.source, frame);
        else for (const peer of this.peers.values()) this.enqueue(peer, frame);
      },
      close: () => {
        subscription.handlers.delete(onRtp);
        if (subscription.handlers.size > 0 || this.subscriptions.get(trackId) !== subscription) return;
        this.subscriptions.delete(trackId);
        for (const peer of this.peers.values()) this.post(peer, { t: 'interest', trackId, on: false });
      },
    };
  }

  close(): void {
    for (const workerId of [...this.peers.keys()]) this.removePeer(workerId);
    this.subscriptions.clear();
    this.producers.clear();
    this.interest.clear();
  }

  private receive(peer: Peer, message: PortMessage): void {
    if (message.t === 'interest') {
      let peers = this.interest.get(message.trackId);
      if (message.on) {
        if (!peers) this.interest.set(message.trackId, (peers = new Set()));
        peers.add(peer);
      } else if (peers) {
        peers.delete(peer);
        if (peers.size === 0) this.interest.delete(message.trackId);
      }
      return;
    }
    for (const frame of decodeBusFrames(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength))) {
      const { packet } = frame;
      if (frame.kind === 'feedback') {
        this.producers.get(frame.trackId)?.(packet);
        continue;
      }
      const sub = this.subscriptions.get(frame.trackId);
      if (!sub) continue;
      sub.source = peer;
      for (const handler of sub.handlers) handler(packet);
    }
  }

  private enqueue(peer: Peer, frame: shoal.media.v1.MediaFrame.$Properties): void {
    peer.pending.push(frame);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      try {
        this.flush();
      } catch (error) {
        this.onError(error);
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const peer of this.peers.values()) {
      if (peer.pending.length === 0) continue;
      const encoded = MediaFrameBatch.encode({ frames: peer.pending }).finish();
      peer.pending = [];
      // Transfer an ArrayBuffer of our own: the encoder's may be a shared pool.
      const owned =
        encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength ? encoded : new Uint8Array(encoded);
      this.post(peer, { t: 'frames', data: owned }, [owned.buffer as ArrayBuffer]);
    }
  }

  private post(peer: Peer, message: PortMessage, transfer: ArrayBuffer[] = []): void {
    peer.port.postMessage(message, transfer);
  }
}
