import { randomInt } from 'node:crypto';
import type { Audio, DataChannel, PeerConnection, Video } from 'node-datachannel';
import { keepUntilClosed } from '../binding/keep-until-closed.js';
import { Consumer } from '../forwarding/consumer.js';
import { encodingName } from '../sdp/codecs.js';
import { sdpFingerprint, SdpError, type Fingerprint } from '../sdp/sdp.js';
import type { ProducerInfo, TrackMid } from '../worker/protocol.js';
import { relayIncomingData, sendOnChannel } from './data-channels.js';
import { PayloadTypeAllocator } from './payload-types.js';
import { RemoteCandidates } from './remote-candidates.js';
import { announceCandidate, announceSdp, rtcConfig, type TransportContext } from './transport-context.js';

export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}

/**
 * A participant's subscriber connection: this side offers, carrying one
 * sendonly m-line per consumed track and the room's two data channels
 * ("reliable", and "unreliable": unordered, no retransmissions). Every change
 * of the track set renegotiates; one offer is outstanding at a time, and
 * changes made meanwhile go into the next one.
 */
export class SubscriberTransport {
  private readonly pc: PeerConnection;
  private readonly candidates: RemoteCandidates;
  private readonly consumers = new Map<string, Consumer>();
  private readonly reliable: DataChannel;
  private readonly unreliable: DataChannel;
  /** Channels the client opened itself (any label); messages on them are relayed like the room's. */
  private readonly clientChannels: DataChannel[] = [];
  private readonly payloadTypes = new PayloadTypeAllocator();
  private awaitingAnswer = false;
  /** The client's certificate fingerprint, from its first answer. */
  private expectedFingerprint: Fingerprint | undefined;
  private renegotiationNeeded = false;
  private offeredTracks: TrackMid[] = [];
  private nextMid = 0;
  private closed = false;

  constructor(
    private readonly ctx: TransportContext,
    private readonly participantId: string,
  ) {
    const { settings, emit } = ctx;
    this.pc = new ctx.binding.PeerConnection(`sub-${participantId}`, {
      ...rtcConfig(settings),
      // Tracks come later: DTLS-SRTP from the start, offers made explicitly.
      forceMediaTransport: true,
      disableAutoNegotiation: true,
      // The client may finish ICE and start DTLS before its answer (with the fingerprint)
      // got here; libdatachannel would then fail the handshake. The fingerprint is checked
      // here instead, once both the answer and the handshake are in (verifyFingerprint).
      disableFingerprintVerification: true,
    });
    this.candidates = new RemoteCandidates(this.pc);
    this.pc.onLocalDescription((sdp, type) => {
      if (type !== 'offer' || this.closed) return;
      emit({ type: 'subscriberOffer', participantId, sdp: announceSdp(settings, sdp), tracks: this.offeredTracks });
    });
    this.pc.onLocalCandidate((candidate, mid) => {
      emit({ type: 'localCandidate', participantId, role: 'subscriber', candidate: announceCandidate(settings, candidate), mid });
    });
    this.pc.onStateChange((state) => {
      if (state === 'connected' && !this.verifyFingerprint()) return;
      emit({ type: 'connectionState', participantId, role: 'subscriber', state });
    });
    this.reliable = keepUntilClosed(this.pc.createDataChannel('reliable'));
    this.unreliable = keepUntilClosed(this.pc.createDataChannel('unreliable', { unordered: true, maxRetransmits: 0 }));
    relayIncomingData(this.reliable, participantId, emit);
    relayIncomingData(this.unreliable, participantId, emit);
    this.pc.onDataChannel((channel) => {
      this.clientChannels.push(keepUntilClosed(channel));
      relayIncomingData(channel, participantId, emit);
    });
    this.negotiate();
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  addConsumer(producer: ProducerInfo): void {
    if (this.closed || this.consumers.has(producer.trackId)) return;
    const mid = `t${this.nextMid++}`;
    const { codec } = producer;
    const payloadType = this.payloadTypes.forCodec(codec);
    const ssrc = randomSsrc();
    const cname = producer.participantId;
    let media: Audio | Video;
    let rtx: { ssrc: number; payloadType: number } | undefined;
    if (producer.kind === 'video') {
      const video = new this.ctx.binding.Video(mid, 'SendOnly');
      const name = `${encodingName(codec)}/${codec.clockRate}`;
      if (codec.fmtp) video.addVideoCodec(payloadType, name, codec.fmtp);
      else video.addVideoCodec(payloadType, name);
      video.parseSdpLine(`a=rtcp-fb:${payloadType} ccm fir`);
      rtx = { ssrc: randomSsrc(), payloadType: this.payloadTypes.forRtx(codec) };
      video.addRTXCodec(rtx.payloadType, payloadType, codec.clockRate);
      media = video;
    } else {
      const audio = new this.ctx.binding.Audio(mid, 'SendOnly');
      const channels = codec.channels ? `/${codec.channels}` : '';
      const name = `${encodingName(codec)}/${codec.clockRate}${channels}`;
      if (codec.fmtp) audio.addAudioCodec(payloadType, name, codec.fmtp);
      else audio.addAudioCodec(payloadType, name);
      media = audio;
    }
    media.addSSRC(ssrc, cname, producer.participantId, producer.trackId);
    if (rtx) {
      media.addSSRC(rtx.ssrc, cname);
      media.parseSdpLine(`a=ssrc-group:FID ${ssrc} ${rtx.ssrc}`);
    }
    const track = this.pc.addTrack(media);
    const consumer = new Consumer({ producer, mid, track, ssrc, payloadType, ...(rtx ? { rtx } : {}) });
    this.consumers.set(producer.trackId, consumer);
    this.ctx.router.attach(consumer, producer);
    this.negotiate();
  }

  removeConsumer(trackId: string): void {
    const consumer = this.consumers.get(trackId);
    if (!consumer) return;
    this.consumers.delete(trackId);
    this.ctx.router.detach(consumer);
    this.negotiate();
  }

  applyAnswer(sdp: string): void {
    if (!this.awaitingAnswer) throw new InvalidStateError('no subscriber offer is waiting for an answer');
    const fingerprint = sdpFingerprint(sdp);
    if (!fingerprint) throw new SdpError('answer has no a=fingerprint');
    this.expectedFingerprint ??= fingerprint;
    try {
      this.pc.setRemoteDescription(sdp, 'answer');
    } catch (error) {
      throw new SdpError(`answer rejected: ${(error as Error).message}`);
    }
    this.candidates.flush();
    this.awaitingAnswer = false;
    if (!this.verifyFingerprint()) return;
    if (this.renegotiationNeeded) this.negotiate();
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.candidates.add(candidate, mid);
  }

  sendData(unreliable: boolean, message: string | Uint8Array): boolean {
    return sendOnChannel(unreliable ? this.unreliable : this.reliable, message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of this.consumers.values()) this.ctx.router.detach(consumer);
    this.consumers.clear();
    this.reliable.close();
    this.unreliable.close();
    for (const channel of this.clientChannels) channel.close();
    this.pc.close();
  }

  /**
   * Once the answer and the DTLS handshake are both in, checks that the peer's
   * certificate is the one the answer named; closes the connection if not.
   * Returns false when it closed it.
   */
  private verifyFingerprint(): boolean {
    const expected = this.expectedFingerprint;
    const actual = expected ? this.pc.remoteFingerprint() : undefined;
    if (!expected || !actual?.value) return true;
    if (actual.algorithm.toLowerCase() === expected.algorithm && actual.value.toUpperCase() === expected.value) return true;
    this.ctx.log.warn({ expected, actual }, 'subscriber DTLS certificate does not match the answer; closing');
    this.ctx.emit({ type: 'connectionState', participantId: this.participantId, role: 'subscriber', state: 'failed' });
    this.close();
    return false;
  }

  private negotiate(): void {
    if (this.closed) return;
    if (this.awaitingAnswer) {
      this.renegotiationNeeded = true;
      return;
    }
    this.renegotiationNeeded = false;
    this.awaitingAnswer = true;
    this.offeredTracks = [...this.consumers.values()].map((c) => ({ mid: c.mid, trackId: c.trackId }));
    this.pc.setLocalDescription('offer');
  }
}

function randomSsrc(): number {
  return randomInt(1, 0xffffffff);
}
