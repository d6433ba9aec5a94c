import { Events, type Msg, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import type { BusPort } from '../bus/in-thread-port.js';
import { PortOutbox, TurnFlush, type PortMessage, type TrackOwner } from '../bus/port-link.js';
import { countTrackPackets } from '../bus/track-packets.js';
import type { GatewayStats } from './protocol.js';
import { feedbackSubject, feedbackTrackId, rtpSubject, wantSubject } from './subjects.js';
import { TrackLeases } from './track-leases.js';
import { decodeTrackWants, encodeTrackWants, type TrackWant } from './track-wants.js';

/** A node renews its leases on the tracks it pulls this often, ms (and at once after a reconnect). */
export const WANT_REFRESH_MS = 1000;
/** A lease not renewed for this long ends, ms: three refreshes lost, and a margin. */
export const LEASE_TTL_MS = 3500;
/** How often ended leases are looked for, ms. */
const LEASE_CHECK_MS = 500;
/** Leases held at most: they come from the network. */
const MAX_LEASES = 100_000;

interface GatewayPeer {
  workerId: number;
  outbox: PortOutbox;
}

/** Another node's track this node pulls for some of its workers. */
interface PulledTrack {
  trackId: string;
  owner: TrackOwner;
  peers: Set<GatewayPeer>;
  subscription?: Subscription;
}

type Counted = 'rtp' | 'feedback' | 'want';

/**
 * The node's one door to NATS for media, in a thread of its own: a peer of
 * the in-process media bus (a MessagePort to every worker) that stands for
 * every other node.
 *
 * Pulling: a worker's interest in another node's track comes here with the
 * track's owner; the first one makes the gateway subscribe to the track's
 * subject and take a lease on it from the owner node (TrackWants on
 * shoal.want.<owner>, renewed every WANT_REFRESH_MS); each message is copied
 * to every worker that asked, so a node pulls a track once whatever its
 * number of workers. The workers' feedback goes to shoal.fb.<owner>.<track>.
 *
 * Publishing: while some other node holds a lease on one of this node's
 * tracks, the gateway asks the track's worker for its packets (bus interest)
 * and publishes each payload it gets on shoal.rtp.<track>, once whatever the
 * number of nodes that want it. Feedback from other nodes goes to that worker.
 *
 * Payloads are TrackPackets as the workers encoded them: checked (a length
 * walk), never decoded or re-encoded here.
 */
export class MediaGateway {
  private nc: NatsConnection | undefined;
  private connected = false;
  private readonly peers = new Map<number, GatewayPeer>();
  private readonly pulled = new Map<string, PulledTrack>();
  private readonly leases = new TrackLeases(LEASE_TTL_MS, MAX_LEASES);
  private readonly feedbackPrefix: string;
  private readonly turn: TurnFlush;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly counts = {
    reconnects: 0,
    messagesOut: 0,
    bytesOut: 0,
    messagesIn: 0,
    bytesIn: 0,
    rtpMessagesOut: 0,
    rtpPacketsOut: 0,
    rtpBytesOut: 0,
    rtpMessagesIn: 0,
    rtpPacketsIn: 0,
    rtpBytesIn: 0,
    feedbackMessagesOut: 0,
    feedbackMessagesIn: 0,
    wantMessagesOut: 0,
    wantMessagesIn: 0,
    messagesDropped: 0,
    publishesSkipped: 0,
  };

  constructor(
    private readonly nodeId: string,
    private readonly log: Logger,
    private readonly limitedLog: RateLimitedLog,
  ) {
    this.feedbackPrefix = feedbackSubject(nodeId, '');
    this.turn = new TurnFlush(
      () => {
        for (const peer of this.peers.values()) peer.outbox.flush();
      },
      (error) => this.limitedLog.error('gateway flush', { err: error }, 'media gateway could not pass packets to a worker'),
    );
    this.timers.push(
      setInterval(() => this.guard('want refresh', () => this.sendAllWants()), WANT_REFRESH_MS),
      setInterval(() => this.guard('lease expiry', () => this.expireLeases()), LEASE_CHECK_MS),
    );
  }

  /** Starts using the NATS connection (connected once; nats.js reconnects it for ever). */
  attach(nc: NatsConnection): void {
    this.nc = nc;
    this.connected = true;
    nc.subscribe(wantSubject(this.nodeId), { callback: (error, msg) => this.fromNats('want', error, msg, () => this.onWants(msg)) });
    nc.subscribe(`${this.feedbackPrefix}*`, { callback: (error, msg) => this.fromNats('feedback', error, msg, () => this.onFeedback(msg)) });
    for (const track of this.pulled.values()) this.subscribeRtp(track);
    this.sendAllWants();
    void this.watchConnection(nc);
  }

  addPeer(workerId: number, port: BusPort): void {
    this.removePeer(workerId);
    const peer: GatewayPeer = { workerId, outbox: new PortOutbox(port) };
    this.peers.set(workerId, peer);
    port.on('message', (message: PortMessage) => this.guard('worker message', () => this.fromWorker(peer, message)));
    port.on('close', () => this.removePeer(workerId, peer));
    // A replacement worker: the leases of its slot stand (its tracks are new ones, asked for anew).
    for (const trackId of this.leases.tracksOf(workerId)) peer.outbox.post({ t: 'interest', trackId, on: true });
  }

  removePeer(workerId: number, only?: GatewayPeer): void {
    const peer = this.peers.get(workerId);
    if (!peer || (only && peer !== only)) return;
    this.peers.delete(workerId);
    for (const track of [...this.pulled.values()]) if (track.peers.delete(peer) && track.peers.size === 0) this.stopPulling(track);
    peer.outbox.port.close();
  }

  stats(): GatewayStats {
    return {
      connected: this.connected,
      ...this.counts,
      tracksPublished: this.leases.trackCount,
      leasesHeld: this.leases.leaseCount,
      tracksPulled: this.pulled.size,
    };
  }

  /** Stops: the owners of what this node pulls are told at once (not at lease expiry), ports closed. */
  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    for (const track of [...this.pulled.values()]) this.stopPulling(track);
    for (const workerId of [...this.peers.keys()]) this.removePeer(workerId);
  }

  // ── from workers ──

  private fromWorker(peer: GatewayPeer, message: PortMessage): void {
    if (message.t === 'interest') {
      if (!message.owner || message.owner.nodeId === this.nodeId) return;
      if (message.on) this.pull(peer, message.trackId, message.owner);
      else this.unpull(peer, message.trackId);
      return;
    }
    for (let i = 0; i < message.payloads.length; i++) this.fromWorkerPayload(message.trackIds[i]!, message.payloads[i]!);
  }

  /** A worker's payload: feedback for a track pulled from another node, or packets of a track of this one. */
  private fromWorkerPayload(trackId: string, payload: Uint8Array): void {
    const pulled = this.pulled.get(trackId);
    if (pulled) {
      this.publish('feedback', feedbackSubject(pulled.owner.nodeId, trackId), payload, 0);
      return;
    }
    // Packets still on the way after the last lease ended go nowhere.
    if (this.leases.workerOf(trackId) === undefined) return;
    this.publish('rtp', rtpSubject(trackId), payload, countTrackPackets(payload) ?? 0);
  }

  private pull(peer: GatewayPeer, trackId: string, owner: TrackOwner): void {
    let track = this.pulled.get(trackId);
    if (!track) {
      track = { trackId, owner: { nodeId: owner.nodeId, workerId: owner.workerId }, peers: new Set() };
      this.pulled.set(trackId, track);
      this.subscribeRtp(track);
      this.publishWants(owner.nodeId, [{ trackId, workerId: owner.workerId, released: false }]);
      this.log.debug({ track: trackId, owner: owner.nodeId }, 'pulling a track from another node');
    }
    track.peers.add(peer);
  }

  private unpull(peer: GatewayPeer, trackId: string): void {
    const track = this.pulled.get(trackId);
    if (track?.peers.delete(peer) && track.peers.size === 0) this.stopPulling(track);
  }

  private stopPulling(track: PulledTrack): void {
    this.pulled.delete(track.trackId);
    track.subscription?.unsubscribe();
    this.publishWants(track.owner.nodeId, [{ trackId: track.trackId, workerId: track.owner.workerId, released: true }]);
    this.log.debug({ track: track.trackId, owner: track.owner.nodeId }, 'no longer pulling a track');
  }

  private subscribeRtp(track: PulledTrack): void {
    if (!this.nc || track.subscription) return;
    track.subscription = this.nc.subscribe(rtpSubject(track.trackId), {
      callback: (error, msg) => this.fromNats('rtp', error, msg, () => this.onRtp(track, msg)),
    });
  }

  // ── from NATS ──

  private fromNats(kind: Counted, error: Error | null, msg: Msg, handle: () => void): void {
    if (error) {
      this.limitedLog.warn(`nats ${kind} subscription`, { err: error }, 'NATS subscription error');
      return;
    }
    this.counts.messagesIn++;
    this.counts.bytesIn += msg.data.length;
    this.counts[`${kind}MessagesIn`]++;
    this.guard(`nats ${kind}`, handle);
  }

  /** Packets of a pulled track: a copy to each worker that wants it. */
  private onRtp(track: PulledTrack, msg: Msg): void {
    const packets = countTrackPackets(msg.data);
    if (packets === undefined) {
      this.drop('malformed rtp', { track: track.trackId, bytes: msg.data.length }, 'malformed media message from NATS dropped');
      return;
    }
    this.counts.rtpPacketsIn += packets;
    this.counts.rtpBytesIn += msg.data.length;
    // Copies: msg.data is a view into the connection's read buffer; each worker gets a buffer to own.
    for (const peer of track.peers) peer.outbox.add(track.trackId, new Uint8Array(msg.data));
    this.turn.schedule();
  }

  /** Feedback from another node for a track of this one: to the worker that receives it. */
  private onFeedback(msg: Msg): void {
    const trackId = feedbackTrackId(msg.subject, this.feedbackPrefix);
    const workerId = trackId === undefined ? undefined : this.leases.workerOf(trackId);
    const peer = workerId === undefined ? undefined : this.peers.get(workerId);
    if (!peer || countTrackPackets(msg.data) === undefined) {
      this.drop('unusable feedback', { subject: msg.subject }, 'feedback from NATS for no leased track, or malformed: dropped');
      return;
    }
    peer.outbox.add(trackId!, new Uint8Array(msg.data));
    this.turn.schedule();
  }

  private onWants(msg: Msg): void {
    let message: ReturnType<typeof decodeTrackWants>;
    try {
      message = decodeTrackWants(msg.data);
    } catch (error) {
      this.drop('malformed wants', { err: error }, 'malformed TrackWants from NATS dropped');
      return;
    }
    const { nodeId, wants } = message;
    if (nodeId === this.nodeId) return;
    const now = performance.now();
    for (const want of wants) {
      if (want.released) {
        const ended = this.leases.release(want.trackId, nodeId);
        if (ended) this.tellOwnerWorker(ended.workerId, ended.trackId, false);
        continue;
      }
      const result = this.leases.renew(want.trackId, want.workerId, nodeId, now);
      if (result === 'first') this.tellOwnerWorker(want.workerId, want.trackId, true);
      else if (result === 'refused') this.limitedLog.warn('lease refused', { wantingNode: nodeId }, `more than ${MAX_LEASES} leases held: a want refused`);
    }
  }

  // ── leases ──

  private tellOwnerWorker(workerId: number, trackId: string, on: boolean): void {
    this.peers.get(workerId)?.outbox.post({ t: 'interest', trackId, on });
  }

  private expireLeases(): void {
    for (const ended of this.leases.expire(performance.now())) this.tellOwnerWorker(ended.workerId, ended.trackId, false);
  }

  /** Renews every lease this node holds, one message per owner node (or a few, for very many tracks). */
  private sendAllWants(): void {
    const byOwner = new Map<string, TrackWant[]>();
    for (const track of this.pulled.values()) {
      let wants = byOwner.get(track.owner.nodeId);
      if (!wants) byOwner.set(track.owner.nodeId, (wants = []));
      wants.push({ trackId: track.trackId, workerId: track.owner.workerId, released: false });
    }
    for (const [owner, wants] of byOwner) this.publishWants(owner, wants);
  }

  private publishWants(ownerNodeId: string, wants: TrackWant[]): void {
    for (const message of encodeTrackWants(this.nodeId, wants)) this.publish('want', wantSubject(ownerNodeId), message, 0);
  }

  // ── NATS plumbing ──

  private publish(kind: Counted, subject: string, payload: Uint8Array, packets: number): void {
    const nc = this.nc;
    if (!nc || !this.connected) {
      this.counts.publishesSkipped++;
      return;
    }
    nc.publish(subject, payload);
    this.counts.messagesOut++;
    this.counts.bytesOut += payload.length;
    this.counts[`${kind}MessagesOut`]++;
    if (kind === 'rtp') {
      this.counts.rtpPacketsOut += packets;
      this.counts.rtpBytesOut += payload.length;
    }
  }

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        this.connected = false;
        this.log.warn({ server: status.data }, 'media gateway lost NATS; reconnecting');
      } else if (status.type === Events.Reconnect) {
        this.connected = true;
        this.counts.reconnects++;
        this.log.info({ server: status.data }, 'media gateway reconnected to NATS; renewing leases');
        // Subscriptions are re-sent by nats.js; leases are asked for again at once (publishes while down were lost).
        this.guard('want refresh', () => this.sendAllWants());
      }
    }
  }

  private drop(key: string, bindings: object, message: string): void {
    this.counts.messagesDropped++;
    this.limitedLog.warn(key, bindings, message);
  }

  /** Runs `work`; an exception is logged (rate-limited), never thrown into NATS or port callbacks. */
  private guard(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.limitedLog.error(`gateway ${what}`, { err: error }, `media gateway: ${what} failed`);
    }
  }
}
