import type { TrackOwner } from './port-link.js';

/**
 * The media bus carries a track's RTP from the worker that receives it to
 * other workers (and, through the node's gateway, other nodes) that forward
 * it, and RTCP feedback back. Interest is per track and goes to the track's
 * owner only: a track nobody elsewhere asked for costs no bus traffic.
 */
export interface MediaBus {
  /** Called by the worker holding a track's publisher, for every RTP packet; free when nobody subscribed. */
  publishRtp(trackId: string, packet: Uint8Array): void;
  /** Registers the local publisher of a track, to receive the feedback remote subscribers send it. */
  registerProducer(trackId: string, onFeedback: (rtcp: Buffer, from: FeedbackOrigin) => void): () => void;
  /** Receives the RTP of a track another worker or node owns. */
  subscribe(track: TrackOwner & { trackId: string }, listener: TrackListener): BusSubscription;
  close(): void;
}

/** Where feedback came from: packets sent again in answer to its NACKs go back there. */
export interface FeedbackOrigin {
  resend(trackId: string, packet: Uint8Array): void;
}

export interface TrackListener {
  /** A packet of the stream, as the publisher sent it. */
  rtp(packet: Buffer): void;
  /** A packet sent again in answer to a NACK (this worker's or another's on the same path). */
  resent(packet: Buffer): void;
}

export interface BusSubscription {
  /** Sends RTCP feedback (a keyframe request, a NACK) to the track's publisher. */
  sendFeedback(rtcp: Uint8Array): void;
  close(): void;
}
