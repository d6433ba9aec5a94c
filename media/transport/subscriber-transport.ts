import type { DataChannel, PeerConnection } from 'node-datachannel';
import { keepUntilClosed } from '../binding/keep-until-closed.js';
import type { Consumer } from '../forwarding/consumer.js';
import { codecKey } from '../sdp/codecs.js';
import { ICE_RESTART_REFUSED, restartsIce } from '../sdp/ice-credentials.js';
import { takeCandidates } from '../sdp/candidates.js';
import { parseSdp, SdpError, writeSdp } from '../sdp/sdp.js';
import { writeMLineStates, type MLineState } from '../sdp/subscriber-offer.js';
import type { ProducerInfo, TrackMid } from '../worker/protocol.js';
import { ConnectTimeout } from './connect-timeout.js';
import { relayIncomingData, sendOnChannel, type DataSendResult } from './data-channels.js';
import { MLineSlots } from './mline-slots.js';
import { PayloadTypeAllocator } from './payload-types.js';
import { RemoteCandidates } from './remote-candidates.js';
import { addSendingMLine } from './sending-mline.js';
import { openPeerConnection } from './port-budget.js';
import { announceCandidate, announceSdp, rtcConfig, warnLimited, type TransportContext } from './transport-context.js';
import { guarded } from '../binding/guard-callbacks.js';

/** Offer ids are unique per worker thread, so an answer to a replaced connection's offer never matches. */
let lastOfferId = 0;

export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}

/**
 * A participant's subscriber connection: this side offers, carrying one
 * sendonly m-line per consumed track and the room's two data channels
 * ("reliable", and "unreliable": unordered, no retransmissions). The m-line of
 * a track that went is reused for the next track of the same kind and codec,
 * so the SDP follows the tracks carried at once, not every track ever carried
 * (libdatachannel cannot give a new track an old m-line's mid: the m-line and
 * its libdatachannel Track stay, and each offer names the track they carry).
 * Every change of the track set renegotiates; one offer is outstanding at a
 * time, and changes made meanwhile go into the next one. After the first
 * offer, the next waits until the connection is up: a client is never asked to
 * renegotiate a connection that is still connecting (some stacks, aiortc
 * among them, then never start their receivers).
 */
export class SubscriberTransport {
  private readonly pc: PeerConnection;
  private readonly candidates: RemoteCandidates;
  /** Every media m-line (a Consumer each), in the order they were added. */
  private readonly slots = new MLineSlots<Consumer>();
  /** The m-line carrying each track, by track id. */
  private readonly carrying = new Map<string, Consumer>();
  private readonly reliable: DataChannel;
  private readonly unreliable: DataChannel;
  /** Channels the client opened itself (any label); messages on them are relayed like the room's. */
  private readonly clientChannels: DataChannel[] = [];
  private readonly payloadTypes = new PayloadTypeAllocator();
  private readonly connectTimeout: ConnectTimeout;
  private awaitingAnswer = false;
  /** The id of the offer made last (the one an answer must name). */
  private pendingOfferId = 0;
  private renegotiationNeeded = false;
  /** The connection has been connected: renegotiations no longer wait. */
  private connected = false;
  private offeredTracks: TrackMid[] = [];
  /** What each m-line of the offer being made carries, written into its SDP. */
  private offeredStates: MLineState[] = [];
  private nextMid = 0;
  private closed = false;

  /**
   * Starts with the room's data channels and the given tracks in its first
   * offer. `restart` marks that offer as replacing a failed connection;
   * `onConnected` runs when the connection is up, `onFailed` when ICE or
   * DTLS fails for good, the client closed it, or it did not come up within
   * `connectTimeoutMs` of the client's answer.
   */
  constructor(
    private readonly ctx: TransportContext,
    participantId: string,
    options: { producers: readonly ProducerInfo[]; restart: boolean; onConnected: () => void; onFailed: () => void },
  ) {
    const { settings, emit } = ctx;
    this.pc = openPeerConnection(ctx, `sub-${participantId}`, {
      ...rtcConfig(settings),
      // Tracks come later: DTLS-SRTP from the start, offers made explicitly.
      forceMediaTransport: true,
      disableAutoNegotiation: true,
    });
    this.candidates = new RemoteCandidates(this.pc, settings.maxRemoteCandidates, (candidate, error) =>
      warnLimited(ctx, 'candidate refused', { candidate, err: error }, 'remote candidate refused by libdatachannel'),
    );
    let restart = options.restart;
    this.pc.onLocalDescription(guarded((sdp, type) => {
      if (type !== 'offer' || this.closed) return;
      const offerId = this.pendingOfferId;
      const described = writeMLineStates(sdp, this.offeredStates);
      emit({ type: 'subscriberOffer', participantId, sdp: announceSdp(settings, described), tracks: this.offeredTracks, restart, offerId });
      restart = false;
    }));
    this.pc.onLocalCandidate(guarded((candidate, mid) => {
      emit({ type: 'localCandidate', participantId, role: 'subscriber', candidate: announceCandidate(settings, candidate), mid });
    }));
    this.connectTimeout = new ConnectTimeout(settings.connectTimeoutMs, () => {
      if (this.closed) return;
      warnLimited(ctx, 'subscriber connect timeout', { timeoutMs: settings.connectTimeoutMs }, 'subscriber connection did not connect in time');
      options.onFailed();
    });
    this.pc.onStateChange(guarded((state) => {
      emit({ type: 'connectionState', participantId, role: 'subscriber', state });
      if (state === 'connected') {
        this.connectTimeout.stop();
        this.connected = true;
        options.onConnected();
        if (this.renegotiationNeeded) this.negotiate();
      }
      // 'closed' from the other side counts too: libdatachannel closes a connection whose SCTP
      // set-up raced with a renegotiation, and a client may drop its connection but keep the socket.
      if ((state === 'failed' || state === 'closed') && !this.closed) options.onFailed();
    }));
    this.reliable = keepUntilClosed(this.pc.createDataChannel('reliable'));
    this.unreliable = keepUntilClosed(this.pc.createDataChannel('unreliable', { unordered: true, maxRetransmits: 0 }));
    relayIncomingData(this.reliable, participantId, emit);
    relayIncomingData(this.unreliable, participantId, emit);
    this.pc.onDataChannel(guarded((channel) => {
      this.clientChannels.push(keepUntilClosed(channel));
      relayIncomingData(channel, participantId, emit);
    }));
    for (const producer of options.producers) this.addTrack(producer);
    this.negotiate();
  }

  get consumerCount(): number {
    return this.carrying.size;
  }

  /** The tracks this connection carries. */
  consumedProducers(): ProducerInfo[] {
    return [...this.carrying.values()].map((consumer) => consumer.producer!);
  }

  addConsumer(producer: ProducerInfo): void {
    if (this.addTrack(producer)) this.negotiate();
  }

  /** Puts a track on a free m-line of its kind and codec, or on a new one; false when there is nothing to add. */
  private addTrack(producer: ProducerInfo): boolean {
    if (this.closed || this.carrying.has(producer.trackId)) return false;
    const key = `${producer.kind}|${codecKey(producer.codec)}`;
    let consumer = this.slots.takeFree(key);
    if (!consumer) {
      consumer = this.addMLine(producer);
      this.slots.add(key, consumer);
    }
    consumer.bind(producer);
    this.carrying.set(producer.trackId, consumer);
    this.ctx.router.attach(consumer, producer);
    return true;
  }

  /** A new sendonly m-line (and its Consumer) for tracks like `producer`. */
  private addMLine(producer: ProducerInfo): Consumer {
    const { codec } = producer;
    return addSendingMLine(this.ctx, this.pc, {
      mid: `t${this.nextMid++}`,
      kind: producer.kind,
      codec,
      payloadType: this.payloadTypes.forCodec(codec),
      ...(producer.kind === 'video' ? { rtxPayloadType: this.payloadTypes.forRtx(codec) } : {}),
    });
  }

  removeConsumer(trackId: string): void {
    const consumer = this.carrying.get(trackId);
    if (!consumer) return;
    this.carrying.delete(trackId);
    this.ctx.router.detach(consumer);
    this.slots.release(consumer);
    this.negotiate();
  }

  applyAnswer(sdp: string, offerId: number): void {
    if (this.closed) throw new InvalidStateError('the subscriber connection is closed');
    if (!this.awaitingAnswer) throw new InvalidStateError('no subscriber offer is waiting for an answer');
    if (offerId !== this.pendingOfferId) {
      throw new InvalidStateError(`answer to offer ${offerId}, but the offer waiting for an answer is ${this.pendingOfferId}`);
    }
    const answer = parseSdp(sdp);
    const current = this.pc.remoteDescription();
    if (current && restartsIce(parseSdp(current.sdp), answer)) throw new SdpError(ICE_RESTART_REFUSED);
    const candidates = takeCandidates(answer);
    const fromAnswer = this.candidates.admit(candidates);
    try {
      this.pc.setRemoteDescription(candidates.length > 0 ? writeSdp(answer) : sdp, 'answer');
    } catch (error) {
      throw new SdpError(`answer rejected: ${(error as Error).message}`);
    }
    this.candidates.flush(fromAnswer);
    this.connectTimeout.start();
    this.awaitingAnswer = false;
    this.slots.answered(offerId);
    if (this.renegotiationNeeded) this.negotiate();
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.candidates.add(candidate, mid);
  }

  sendData(unreliable: boolean, message: string | Uint8Array): DataSendResult {
    return sendOnChannel(unreliable ? this.unreliable : this.reliable, message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connectTimeout.stop();
    for (const consumer of this.slots.items) {
      this.ctx.router.detach(consumer);
      consumer.close();
    }
    this.carrying.clear();
    this.reliable.close();
    this.unreliable.close();
    for (const channel of this.clientChannels) channel.close();
    this.pc.close();
    this.ctx.ports?.give();
  }

  private negotiate(): void {
    if (this.closed) return;
    if (this.awaitingAnswer || (this.pendingOfferId !== 0 && !this.connected)) {
      this.renegotiationNeeded = true;
      return;
    }
    this.renegotiationNeeded = false;
    this.awaitingAnswer = true;
    this.pendingOfferId = ++lastOfferId;
    this.offeredTracks = [];
    this.offeredStates = [];
    this.slots.offered(this.pendingOfferId);
    for (const consumer of this.slots.items) {
      const { producer, rtxSsrc } = consumer;
      if (producer) this.offeredTracks.push({ mid: consumer.mid, trackId: producer.trackId });
      this.offeredStates.push({
        mid: consumer.mid,
        ssrc: consumer.ssrc,
        ...(rtxSsrc !== undefined ? { rtxSsrc } : {}),
        ...(producer ? { carries: { streamId: producer.participantId, trackId: producer.trackId, cname: producer.participantId } } : {}),
      });
    }
    this.pc.setLocalDescription('offer');
  }
}
