import type { BusPort } from './in-thread-port.js';
import type { BusSubscription, FeedbackOrigin, MediaBus, TrackListener } from './media-bus.js';
import { GATEWAY_PEER, PortOutbox, TurnFlush, type PortMessage, type TrackOwner } from './port-link.js';
import { decodeTrackPackets, encodeTrackPackets } from './track-packets.js';

/** Packets queued for one peer in this event-loop turn, of one track. */
interface PendingPackets {
  rtp: Uint8Array[];
  resent: Uint8Array[];
  feedback: Uint8Array[];
  count: number;
  bytes: number;
}

/**
 * Packets and bytes of one track in one message at most (a receiver takes up
 * to 1024 packets; NATS up to 1 MiB per message by default): a turn that
 * brings more (after a stall) sends several messages.
 */
const MAX_BATCH_PACKETS = 256;
const MAX_BATCH_BYTES = 256 * 1024;

interface Peer {
  id: number;
  outbox: PortOutbox;
  pending: Map<string, PendingPackets>;
  /** Feedback from this peer is answered through this. */
  origin: FeedbackOrigin;
}

interface TrackSubscription {
  owner: TrackOwner;
  listeners: Set<TrackListener>;
}

/**
 * A worker's side of the in-process media bus: a MessagePort to every other
 * worker of the node and one to the node's gateway (GATEWAY_PEER), which
 * stands for every other node (an InThreadPort when the gateway runs in this
 * worker). Interest in a track goes to its owner only
 * (its worker here, or the gateway); the owner then sends its RTP to the
 * peers that asked, and takes their feedback. Packets are batched per
 * event-loop turn, one encoded TrackPackets per track, and their buffers are
 * transferred, not copied.
 */
export class PortMediaBus implements MediaBus {
  private readonly peers = new Map<number, Peer>();
  private readonly subscriptions = new Map<string, TrackSubscription>();
  private readonly producers = new Map<string, (rtcp: Buffer, from: FeedbackOrigin) => void>();
  /** Track id → peers that asked for its RTP. */
  private readonly interest = new Map<string, Set<Peer>>();
  private readonly turn: TurnFlush;

  constructor(
    private readonly nodeId: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.turn = new TurnFlush(() => this.flush(), onError);
  }

  addPeer(peerId: number, port: BusPort): void {
    this.removePeer(peerId);
    const peer: Peer = {
      id: peerId,
      outbox: new PortOutbox(port),
      pending: new Map(),
      origin: { resend: (trackId, packet) => this.enqueue(peer, trackId, 'resent', packet) },
    };
    this.peers.set(peerId, peer);
    port.on('message', (message: PortMessage) => {
      try {
        this.receive(peer, message);
      } catch (error) {
        this.onError(error);
      }
    });
    port.on('close', () => this.removePeer(peerId, peer));
    for (const [trackId, sub] of this.subscriptions) {
      if (this.ownerPeerId(sub.owner) === peerId) peer.outbox.post(this.interestMessage(trackId, true, sub.owner));
    }
  }

  removePeer(peerId: number, only?: Peer): void {
    const peer = this.peers.get(peerId);
    if (!peer || (only && peer !== only)) return;
    this.peers.delete(peerId);
    for (const peers of this.interest.values()) peers.delete(peer);
    peer.outbox.port.close();
  }

  publishRtp(trackId: string, packet: Uint8Array): void {
    const peers = this.interest.get(trackId);
    if (!peers || peers.size === 0) return;
    for (const peer of peers) this.enqueue(peer, trackId, 'rtp', packet);
  }

  registerProducer(trackId: string, onFeedback: (rtcp: Buffer, from: FeedbackOrigin) => void): () => void {
    this.producers.set(trackId, onFeedback);
    return () => {
      if (this.producers.get(trackId) !== onFeedback) return;
      this.producers.delete(trackId);
      this.interest.delete(trackId);
    };
  }

  subscribe(track: TrackOwner & { trackId: string }, listener: TrackListener): BusSubscription {
    const { trackId } = track;
    let sub = this.subscriptions.get(trackId);
    if (!sub) {
      sub = { owner: { nodeId: track.nodeId, workerId: track.workerId }, listeners: new Set() };
      this.subscriptions.set(trackId, sub);
      this.ownerPeer(sub.owner)?.outbox.post(this.interestMessage(trackId, true, sub.owner));
    }
    sub.listeners.add(listener);
    const subscription = sub;
    return {
      sendFeedback: (rtcp) => {
        const owner = this.ownerPeer(subscription.owner);
        if (owner) this.enqueue(owner, trackId, 'feedback', rtcp);
      },
      close: () => {
        subscription.listeners.delete(listener);
        if (subscription.listeners.size > 0 || this.subscriptions.get(trackId) !== subscription) return;
        this.subscriptions.delete(trackId);
        this.ownerPeer(subscription.owner)?.outbox.post(this.interestMessage(trackId, false, subscription.owner));
      },
    };
  }

  close(): void {
    for (const peerId of [...this.peers.keys()]) this.removePeer(peerId);
    this.subscriptions.clear();
    this.producers.clear();
    this.interest.clear();
  }

  /** The bus peer a track's packets come from: its worker on this node, else the gateway. */
  private ownerPeerId(owner: TrackOwner): number {
    return owner.nodeId === this.nodeId ? owner.workerId : GATEWAY_PEER;
  }

  private ownerPeer(owner: TrackOwner): Peer | undefined {
    return this.peers.get(this.ownerPeerId(owner));
  }

  private interestMessage(trackId: string, on: boolean, owner: TrackOwner): PortMessage {
    // The gateway needs the owner to find the track; a worker owns what it is asked for.
    return owner.nodeId === this.nodeId ? { t: 'interest', trackId, on } : { t: 'interest', trackId, on, owner };
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
    const { trackIds, payloads } = message;
    for (let i = 0; i < payloads.length; i++) {
      try {
        this.receivePackets(peer, trackIds[i]!, payloads[i]!);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  private receivePackets(peer: Peer, trackId: string, payload: Uint8Array): void {
    const { rtp, resent, feedback } = decodeTrackPackets(payload);
    if (feedback.length > 0) {
      const producer = this.producers.get(trackId);
      if (producer) for (const rtcp of feedback) producer(rtcp, peer.origin);
    }
    if (rtp.length === 0 && resent.length === 0) return;
    const sub = this.subscriptions.get(trackId);
    // Only the owner's packets: whatever else arrives would be a duplicate path.
    if (!sub || this.ownerPeerId(sub.owner) !== peer.id) return;
    for (const listener of sub.listeners) {
      for (const packet of rtp) listener.rtp(packet);
      for (const packet of resent) listener.resent(packet);
    }
  }

  private enqueue(peer: Peer, trackId: string, kind: 'rtp' | 'resent' | 'feedback', packet: Uint8Array): void {
    let pending = peer.pending.get(trackId);
    if (!pending) peer.pending.set(trackId, (pending = { rtp: [], resent: [], feedback: [], count: 0, bytes: 0 }));
    pending[kind].push(packet);
    pending.bytes += packet.length;
    if (++pending.count >= MAX_BATCH_PACKETS || pending.bytes >= MAX_BATCH_BYTES) this.encode(peer, trackId, pending);
    this.turn.schedule();
  }

  private flush(): void {
    for (const peer of this.peers.values()) {
      for (const [trackId, pending] of peer.pending) {
        // Nothing since the last flush: the track may have gone quiet; its entry is made again when needed.
        if (pending.count === 0) peer.pending.delete(trackId);
        else this.encode(peer, trackId, pending);
      }
      peer.outbox.flush();
    }
  }

  private encode(peer: Peer, trackId: string, pending: PendingPackets): void {
    peer.outbox.add(trackId, encodeTrackPackets(pending));
    pending.rtp.length = 0;
    pending.resent.length = 0;
    pending.feedback.length = 0;
    pending.count = 0;
    pending.bytes = 0;
  }
}
