import { shoal } from '../../proto/generated/shoal.js';
import { isIdToken } from './subjects.js';

const { TrackWants } = shoal.media.v1;

/** One node's lease on a track of another node (a TrackWant of proto/media.proto, checked). */
export interface TrackWant {
  trackId: string;
  /** The owner node's worker that receives the track. */
  workerId: number;
  /** The lease ends now. */
  released: boolean;
}

/** A TrackWants message that is not well-formed. */
export class TrackWantsError extends Error {
  override readonly name = 'TrackWantsError';
}

/** Wants per message at most: a node that wants more from one owner sends several messages. */
const MAX_WANTS_PER_MESSAGE = 1000;
/** Worker ids run from 0 to 255 (`--workers` is at most 256). */
const MAX_WORKER_ID = 255;

/** Encodes a node's wants, MAX_WANTS_PER_MESSAGE per message. */
export function encodeTrackWants(nodeId: string, wants: readonly TrackWant[]): Uint8Array[] {
  const messages: Uint8Array[] = [];
  for (let i = 0; i < wants.length; i += MAX_WANTS_PER_MESSAGE) {
    const tracks = wants.slice(i, i + MAX_WANTS_PER_MESSAGE);
    messages.push(TrackWants.encode({ nodeId, tracks }).finish());
  }
  return messages;
}

/**
 * Decodes a TrackWants message from another node, checked: a node id and
 * track ids that can stand in subjects, worker ids 0 to 255, at most
 * MAX_WANTS_PER_MESSAGE wants. Anything else throws TrackWantsError.
 */
export function decodeTrackWants(data: Uint8Array): { nodeId: string; wants: TrackWant[] } {
  let message: shoal.media.v1.TrackWants;
  try {
    message = TrackWants.decode(data);
  } catch (error) {
    throw new TrackWantsError(`not a TrackWants message: ${(error as Error).message}`);
  }
  if (!isIdToken(message.nodeId)) throw new TrackWantsError('no valid node id');
  if (message.tracks.length > MAX_WANTS_PER_MESSAGE) throw new TrackWantsError(`${message.tracks.length} wants in one message`);
  const wants = (message.tracks as shoal.media.v1.TrackWant[]).map(({ trackId, workerId, released }) => {
    if (!isIdToken(trackId)) throw new TrackWantsError('a want with no valid track id');
    if (workerId > MAX_WORKER_ID) throw new TrackWantsError(`worker id ${workerId}`);
    return { trackId, workerId, released };
  });
  return { nodeId: message.nodeId, wants };
}
