import type { Logger } from 'pino';
import type { ConnectionRole, WorkerEvent } from '../../media/worker/protocol.js';
import { AccessDenied } from '../auth/access-control.js';
import { ErrorCode, ProtocolError, type ServerMessage } from '../signaling/codec.js';
import { StoreUnavailable } from '../store/room-store.js';
import { WorkerError } from '../workers/media-worker-handle.js';
import type { RoomTrack } from './room.js';
import { shoal } from '../../proto/generated/shoal.js';

const { TrackKind, ConnectionRole: WireRole } = shoal.signaling.v1;

/** A track as clients see it. */
export function trackMessage({ info, identity }: RoomTrack): shoal.signaling.v1.Track.$Properties {
  return {
    trackId: info.trackId,
    participantId: info.participantId,
    identity,
    kind: info.kind === 'audio' ? TrackKind.AUDIO : TrackKind.VIDEO,
    codec: info.codec.mimeType,
  };
}

/** The message a worker event about a participant's connections becomes for its client, if any. */
export function clientMessageFor(event: WorkerEvent): ServerMessage | undefined {
  switch (event.type) {
    case 'subscriberOffer':
      return { subscriberOffer: { sdp: event.sdp, tracks: event.tracks, offerId: event.offerId, ...(event.restart ? { restart: true } : {}) } };
    case 'publisherFailed':
      return {
        error: {
          code: ErrorCode.CONNECTION_FAILED,
          role: WireRole.PUBLISHER,
          message: 'the publisher connection failed (ICE or DTLS); publish again with a new connection',
        },
      };
    case 'subscriberFailed':
      return {
        error: {
          code: ErrorCode.CONNECTION_FAILED,
          role: WireRole.SUBSCRIBER,
          message: `the subscriber connection failed (ICE or DTLS, or did not connect in time) ${event.restarts + 1} times in a row and was closed; leave and join again to receive media`,
        },
      };
    case 'localCandidate':
      return { trickle: { target: wireRole(event.role), candidate: event.candidate, sdpMid: event.mid } };
    default:
      return undefined;
  }
}

function wireRole(role: ConnectionRole): shoal.signaling.v1.ConnectionRole {
  return role === 'publisher' ? WireRole.PUBLISHER : WireRole.SUBSCRIBER;
}

const WORKER_ERRORS: Partial<Record<WorkerError['code'], ErrorCode>> = {
  INVALID_SDP: ErrorCode.INVALID_SDP,
  INVALID_STATE: ErrorCode.INVALID_STATE,
  UNKNOWN_PARTICIPANT: ErrorCode.UNKNOWN_PARTICIPANT,
  TOO_MANY_TRACKS: ErrorCode.TOO_MANY_TRACKS,
  TOO_MANY_CANDIDATES: ErrorCode.TOO_MANY_CANDIDATES,
  MEDIA_PORTS_EXHAUSTED: ErrorCode.MEDIA_PORTS_EXHAUSTED,
  WORKER_GONE: ErrorCode.WORKER_FAILED,
};

/** The error a client is told for a failure; anything unexpected is logged and told as INTERNAL. */
export function toProtocolError(error: unknown, log: Logger): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof AccessDenied) return new ProtocolError(ErrorCode[error.problem], error.message);
  if (error instanceof StoreUnavailable) return new ProtocolError(ErrorCode.UNAVAILABLE, `the cluster state cannot be reached: ${error.message}; try again`);
  if (error instanceof WorkerError) {
    const code = WORKER_ERRORS[error.code];
    if (code !== undefined) return new ProtocolError(code, error.message);
  }
  log.error({ err: error }, 'internal error');
  return new ProtocolError(ErrorCode.INTERNAL, 'internal error');
}
