import type { PeerConnection } from 'node-datachannel';
import { guarded } from '../binding/guard-callbacks.js';
import type { Consumer } from '../forwarding/consumer.js';
import { SdpError } from '../sdp/sdp.js';
import { writeMLineStates } from '../sdp/subscriber-offer.js';
import { prepareViewerOffer, sameFormat, type ViewerMLine } from '../sdp/viewer-offer.js';
import type { ProducerInfo } from '../worker/protocol.js';
import { ConnectTimeout } from './connect-timeout.js';
import type { DataSendResult } from './data-channels.js';
import { describeWithCandidates } from './gathering.js';
import { RemoteCandidates } from './remote-candidates.js';
import { addSendingMLine } from './sending-mline.js';
import { openPeerConnection } from './port-budget.js';
import { announceCandidate, announceSdp, rtcConfig, warnLimited, type TransportContext } from './transport-context.js';
import { InvalidStateError } from './subscriber-transport.js';

/** m-lines a viewer's offer may have, per track a publisher may send (as for publisher connections). */
const MLINES_PER_TRACK_ALLOWED = 4;

interface Slot {
  line: ViewerMLine;
  consumer: Consumer;
}

/**
 * A viewer's connection (WHEP): the client offers recvonly m-lines, this
 * answers once, and there is no renegotiation afterwards. Each m-line carries
 * one track of its kind and codec at a time, chosen among the tracks the
 * control plane asks this participant to consume (all of the room's, or one
 * publisher's): the track it carries stays until it goes, then the m-line
 * takes another (preferring the publisher of the viewer's other m-lines, then
 * the track that came last). Like a re-used subscriber m-line, it keeps its
 * SSRC, sequence numbers and timestamps across tracks (`Consumer.bind`), so
 * the viewer's decoder plays on when one publisher leaves and another starts.
 */
export class ViewerTransport {
  private readonly pc: PeerConnection;
  private readonly candidates: RemoteCandidates;
  private readonly connectTimeout: ConnectTimeout;
  /** The tracks to show, in the order they came. */
  private readonly tracks = new Map<string, ProducerInfo>();
  private slots: Slot[] = [];
  private offered = false;
  private closed = false;

  /** `onFailed` runs when ICE or DTLS fails for good, or the connection does not come up in time after the offer. */
  constructor(
    private readonly ctx: TransportContext,
    private readonly participantId: string,
    onFailed: () => void,
  ) {
    const { settings, emit } = ctx;
    this.pc = openPeerConnection(ctx, `view-${participantId}`, rtcConfig(settings));
    this.candidates = new RemoteCandidates(this.pc, settings.maxRemoteCandidates, (candidate, error) =>
      warnLimited(ctx, 'candidate refused', { candidate, err: error }, 'remote candidate refused by libdatachannel'),
    );
    this.pc.onLocalCandidate(guarded((candidate, mid) => {
      emit({ type: 'localCandidate', participantId, role: 'subscriber', candidate: announceCandidate(settings, candidate), mid });
    }));
    this.connectTimeout = new ConnectTimeout(settings.connectTimeoutMs, () => {
      if (this.closed) return;
      warnLimited(ctx, 'viewer connect timeout', { timeoutMs: settings.connectTimeoutMs }, 'viewer connection did not connect in time');
      onFailed();
    });
    this.pc.onStateChange(guarded((state) => {
      emit({ type: 'connectionState', participantId, role: 'subscriber', state });
      if (state === 'connected') this.connectTimeout.stop();
      if ((state === 'failed' || state === 'closed') && !this.closed) onFailed();
    }));
  }

  get consumerCount(): number {
    return this.slots.filter((slot) => slot.consumer.producer).length;
  }

  /**
   * Applies the viewer's offer; resolves with the answer, the server's
   * candidates in it. The m-lines carry tracks from then on.
   */
  async applyOffer(sdp: string): Promise<string> {
    if (this.closed) throw new InvalidStateError('the viewer connection is closed');
    if (this.offered) throw new InvalidStateError('a viewer connection takes one offer');
    const preferred = [...this.tracks.values()].reverse().map((track) => track.codec);
    const offer = prepareViewerOffer(sdp, preferred, MLINES_PER_TRACK_ALLOWED * this.ctx.settings.maxTracksPerParticipant);
    const fromOffer = this.candidates.admit(offer.candidates);
    this.offered = true;
    // Tracks with the offer's mids before the offer is applied: libdatachannel answers each m-line with them.
    this.slots = offer.mLines.map((line) => ({
      line,
      consumer: addSendingMLine(this.ctx, this.pc, {
        mid: line.mid,
        kind: line.kind,
        codec: line.codec,
        payloadType: line.codec.payloadType,
        ...(line.rtxPayloadType !== undefined ? { rtxPayloadType: line.rtxPayloadType } : {}),
      }),
    }));
    try {
      this.pc.setRemoteDescription(offer.sdp, 'offer');
    } catch (error) {
      throw new SdpError(`offer rejected: ${(error as Error).message}`);
    }
    this.candidates.flush(fromOffer);
    this.connectTimeout.start();
    const answer = await describeWithCandidates(this.pc);
    if (this.closed) throw new InvalidStateError('the viewer connection was closed while its offer was being applied');
    this.assign();
    // One stream for the whole answer (WHEP: a single MediaStream), a track id per m-line.
    const described = writeMLineStates(
      answer,
      this.slots.map(({ line, consumer }) => ({
        mid: line.mid,
        ssrc: consumer.ssrc,
        ...(consumer.rtxSsrc !== undefined ? { rtxSsrc: consumer.rtxSsrc } : {}),
        carries: { streamId: this.participantId, trackId: `${line.kind}-${line.mid}`, cname: this.participantId },
      })),
    );
    return announceSdp(this.ctx.settings, described);
  }

  /** A track to show: carried at once if an m-line of its kind and codec is free. */
  addConsumer(producer: ProducerInfo): void {
    if (this.closed || this.tracks.has(producer.trackId)) return;
    this.tracks.set(producer.trackId, producer);
    this.assign();
  }

  /** A track that went: its m-line takes another one, if there is one. */
  removeConsumer(trackId: string): void {
    if (!this.tracks.delete(trackId)) return;
    const slot = this.slots.find((s) => s.consumer.trackId === trackId);
    if (!slot) return;
    this.ctx.router.detach(slot.consumer);
    this.assign();
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.candidates.add(candidate, mid);
  }

  /** A viewer has no data channels. */
  sendData(): DataSendResult {
    return 'unavailable';
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connectTimeout.stop();
    for (const { consumer } of this.slots) {
      this.ctx.router.detach(consumer);
      consumer.close();
    }
    this.tracks.clear();
    this.pc.close();
    this.ctx.ports?.give();
  }

  /** Binds every idle m-line to a track it can carry that no other m-line carries. */
  private assign(): void {
    for (const slot of this.slots) {
      if (slot.consumer.producer) continue;
      const track = this.pick(slot.line);
      if (!track) continue;
      slot.consumer.bind(track);
      this.ctx.router.attach(slot.consumer, track);
    }
  }

  private pick(line: ViewerMLine): ProducerInfo | undefined {
    const carried = new Set(this.slots.map((s) => s.consumer.trackId).filter((id) => id !== undefined));
    const publishers = new Set(this.slots.map((s) => s.consumer.producer?.participantId).filter((id) => id !== undefined));
    const fitting = [...this.tracks.values()].filter((t) => t.kind === line.kind && !carried.has(t.trackId) && sameFormat(t.codec, line.codec)).reverse();
    return fitting.find((t) => publishers.has(t.participantId)) ?? fitting[0];
  }
}
