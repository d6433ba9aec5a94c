/**
 * The messages between the control plane (main thread) and a media worker.
 * Requests carry an id and get exactly one response with that id; events flow
 * from the worker on their own. Only plain data: everything here crosses
 * `postMessage`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { GatewayStats } from '../gateway/protocol.js';
import type { CodecParameters } from '../sdp/codecs.js';

export type ConnectionRole = 'publisher' | 'subscriber';
export type MediaKind = 'audio' | 'video';

/** A track as received by the worker that holds its publisher. */
export interface ProducerInfo {
  trackId: string;
  participantId: string;
  /** The mid of the m-line in the publisher's offer. */
  mid: string;
  kind: MediaKind;
  codec: CodecParameters;
  /** The node whose worker receives it; consumers anywhere else get its packets over the media bus. */
  nodeId: string;
  /** Which worker of that node receives it. */
  workerId: number;
}

export interface TrackMid {
  mid: string;
  trackId: string;
}

/** Tunables of the media path, set once per worker. */
export interface MediaSettings {
  /** Address the UDP sockets bind to ("0.0.0.0" for every interface). */
  bindAddress: string;
  /** One UDP port for every peer of this worker (ICE UDP mux), or a range. */
  portRangeBegin: number;
  portRangeEnd: number;
  /** Address written into candidates instead of the bound one (for 1:1 NAT), if set. */
  announcedAddress?: string;
  /** Highest bitrate advertised to publishers in REMB, bits/s. */
  maxPublisherBitrate: number;
  /** Lowest bitrate advertised to publishers in REMB, bits/s. */
  minPublisherBitrate: number;
  /** Minimum interval between two keyframe requests to one publisher track, ms. */
  keyframeRequestIntervalMs: number;
  /** Packets kept per video stream for answering NACKs (a power of two). */
  retransmissionBufferPackets: number;
  /**
   * How long a connection may take to come up once the client's offer or
   * answer was applied, ms; then it counts as failed (a subscriber connection
   * is replaced, a publisher connection closed).
   */
  connectTimeoutMs: number;
  /** Media m-lines one publisher connection may send (--max-tracks-per-participant). */
  maxTracksPerParticipant: number;
  /** Remote ICE candidates one connection accepts (--max-candidates). */
  maxRemoteCandidates: number;
  /** Congestion-control feedback publishers get (--publisher-feedback): REMB, or transport-cc from arrival times. */
  publisherFeedback: PublisherFeedback;
}

export const PUBLISHER_FEEDBACK_CHOICES = ['remb', 'twcc'] as const;
export type PublisherFeedback = (typeof PUBLISHER_FEEDBACK_CHOICES)[number];

export interface WorkerInit {
  /** The node this worker belongs to: a track is local when its nodeId is this one. */
  nodeId: string;
  workerId: number;
  settings: MediaSettings;
  logLevel: string;
  /**
   * Set: this worker hosts the node's media gateway (`--media-gateway worker`) and connects it to these NATS
   * servers; its 'ready' waits for that first connection.
   */
  gatewayServers?: string[];
}

/**
 * How a participant receives media: a subscriber connection the server offers
 * (WebSocket clients), a viewer connection that answers the client's offer
 * (WHEP), or none (WHIP publishers).
 */
export type ReceivingConnection = 'offer' | 'answer' | 'none';

/** Request name → [params, result]. */
export interface WorkerRequests {
  /**
   * Creates the participant's media: with `receiving` 'offer', its subscriber connection (with the room's data
   * channels and `producers`: the tracks it receives from the start), whose offer follows as an event; with
   * 'answer', a viewer connection waiting for `viewerOffer`.
   */
  createParticipant: [{ participantId: string; room: string; identity: string; receiving: ReceivingConnection; producers: ProducerInfo[] }, void];
  /**
   * Applies a publisher offer; answers it and lists every track the connection now publishes. With
   * `candidatesInAnswer` the answer waits for the server's candidates and carries them (WHIP: no trickle back).
   */
  publish: [{ participantId: string; sdp: string; candidatesInAnswer?: boolean }, { sdp: string; producers: ProducerInfo[] }];
  /**
   * Applies a viewer's (WHEP client's) recvonly offer to its viewer connection, once: the answer carries the
   * server's candidates, and the connection's m-lines carry the consumed tracks from then on.
   */
  viewerOffer: [{ participantId: string; sdp: string }, { sdp: string }];
  subscriberAnswer: [{ participantId: string; sdp: string; offerId: number }, void];
  addCandidate: [{ participantId: string; role: ConnectionRole; candidate: string; mid: string }, void];
  /** Adds a track to a participant's subscriber connection (renegotiates). */
  consume: [{ participantId: string; producer: ProducerInfo }, void];
  unconsume: [{ participantId: string; trackId: string }, void];
  closeParticipant: [{ participantId: string }, void];
  /**
   * Sends an encoded data message on the participant's reliable or unreliable channel: 'sent' (taken, will
   * be delivered), 'unavailable' (channel not open: use another path) or 'full' (the recipient does not read).
   */
  sendData: [{ participantId: string; unreliable: boolean; message: string | Uint8Array }, 'sent' | 'unavailable' | 'full'];
  getStats: [Record<string, never>, WorkerStats];
  /** The tracks this worker receives from its publishers (diagnostics). */
  producers: [Record<string, never>, ProducerInfo[]];
  /** Closes every connection, releases the binding; the worker exits after answering. */
  shutdown: [Record<string, never>, void];
  /** Diagnostics for recovery tests: the worker throws an uncaught exception. */
  crash: [Record<string, never>, void];
}

export type WorkerRequestName = keyof WorkerRequests;

export interface WorkerRequestMessage<N extends WorkerRequestName = WorkerRequestName> {
  kind: 'request';
  id: number;
  method: N;
  params: WorkerRequests[N][0];
}

export interface WorkerResponseMessage {
  kind: 'response';
  id: number;
  result?: unknown;
  error?: { message: string; code: WorkerErrorCode };
}

/**
 * Failures a request can end with, so the control plane can tell the client what went wrong.
 * TOO_MANY_TRACKS: a publisher offer over `maxTracksPerParticipant` sending m-lines (or naming
 * too many m-lines over the connection's life). TOO_MANY_CANDIDATES: more than
 * `maxRemoteCandidates` remote candidates for one connection, trickled or in descriptions.
 */
export type WorkerErrorCode = 'INVALID_SDP' | 'UNKNOWN_PARTICIPANT' | 'INVALID_STATE' | 'TOO_MANY_TRACKS' | 'TOO_MANY_CANDIDATES' | 'MEDIA_PORTS_EXHAUSTED' | 'INTERNAL';

export type WorkerEvent =
  | { kind: 'event'; type: 'ready'; libraryVersion: string }
  /** `restart`: the previous subscriber connection failed; this offer is for a new one. */
  | { kind: 'event'; type: 'subscriberOffer'; participantId: string; sdp: string; tracks: TrackMid[]; restart: boolean; offerId: number }
  /** The publisher connection failed (ICE/DTLS, or did not connect in time) and was closed with its producers; a new offer starts a new one. */
  | { kind: 'event'; type: 'publisherFailed'; participantId: string }
  /** The subscriber connection failed again after the last restart and was closed: no more media for this participant. */
  | { kind: 'event'; type: 'subscriberFailed'; participantId: string; restarts: number }
  | { kind: 'event'; type: 'localCandidate'; participantId: string; role: ConnectionRole; candidate: string; mid: string }
  | { kind: 'event'; type: 'connectionState'; participantId: string; role: ConnectionRole; state: string }
  | { kind: 'event'; type: 'producerClosed'; participantId: string; trackId: string }
  | { kind: 'event'; type: 'data'; participantId: string; message: string | Uint8Array }
  | { kind: 'event'; type: 'stats'; stats: WorkerStats };

/** A line of the worker's log (pino JSON), written by the main thread to the node's log destination. */
export interface WorkerLogMessage {
  kind: 'log';
  line: string;
}

export interface WorkerStats {
  workerId: number;
  participants: number;
  producers: number;
  consumers: number;
  /** Packets received from publishers and sent to subscribers since the worker started. */
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmissions: number;
  /** NACKed packets not sent again (a repeat within the repeat window, or over the subscriber's retransmission budget). */
  retransmissionsRefused: number;
  /** NACKed sequence numbers missing here, asked of the track's owner over the bus (another worker or node). */
  retransmissionsAsked: number;
  /** Packets sent again onto the bus from this worker's publishers' histories, for other workers' or nodes' NACKs. */
  retransmissionsResent: number;
  /** Loss between publishers and this worker (media/forwarding/publisher-nack.ts): NACK packets sent to publishers. */
  publisherNacksSent: number;
  /** Sequence numbers found missing in publishers' streams and NACKed. */
  publisherPacketsNacked: number;
  /** Of those (and any late packet that filled a gap), the packets that arrived. */
  publisherPacketsRecovered: number;
  /** Missing packets given up (too old, NACKed too often, too many missing, or the stream restarted). */
  publisherPacketsGivenUp: number;
  /** Event-loop delay of the media thread over the last interval, ms. */
  eventLoopLagP50Ms: number;
  eventLoopLagP99Ms: number;
  eventLoopLagMaxMs: number;
  /** Share of the last interval the media thread was busy (0 to 1). */
  eventLoopUtilization: number;
  /** Native tracks and data channels held until libdatachannel reports them closed (a leak shows here). */
  nativeHandlesHeld: number;
  /** The media gateway's counters, when this worker hosts it. */
  gateway?: GatewayStats;
}

/** Messages the main thread sends to a worker besides requests. */
export type WorkerControlMessage =
  | WorkerRequestMessage
  /** A port to another worker of this node, for the in-process media bus. */
  | { kind: 'busPeer'; peerWorkerId: number; port: MessagePort };
