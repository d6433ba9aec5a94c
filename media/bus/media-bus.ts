/**
 * The media bus carries a track's RTP from the worker that receives it to
 * other workers (and, in a cluster, other nodes) that forward it, and RTCP
 * feedback back. Subscriptions are per track: a track nobody elsewhere asked
 * for costs no bus traffic.
 */
export interface MediaBus {
  /** Called by the worker holding a track's publisher, for every RTP packet; free when nobody subscribed. */
  publishRtp(trackId: string, packet: Uint8Array): void;
  /** Registers the local publisher of a track, to receive the feedback remote subscribers send it. */
  registerProducer(trackId: string, onFeedback: (rtcp: Uint8Array) => void): () => void;
  /** Receives a remote track's RTP. */
  subscribe(trackId: string, onRtp: (packet: Buffer) => void): BusSubscription;
  close(): void;
}

export interface BusSubscription {
  /** Sends RTCP feedback (a keyframe request) to the track's publisher. */
  sendFeedback(rtcp: Uint8Array): void;
  close(): void;
}
