import type { Logger } from 'pino';
import type { Grant } from '../auth/access-token.js';
import type { ProducerInfo } from '../../media/worker/protocol.js';
import type { ErrorCode, ServerMessage } from '../signaling/codec.js';
import type { MediaWorkerHandle } from '../workers/media-worker-handle.js';

/** Where a participant's server messages go: its signaling session. */
export interface ParticipantSink {
  send(message: ServerMessage): void;
  /**
   * Sends a message that may be dropped (data) unless the client is behind
   * with reading; false when it was dropped. Messages the session cannot do
   * without (offers, candidates) use `send`.
   */
  trySend(message: ServerMessage): boolean;
  /** How the client encodes data messages it gets on a data channel. */
  readonly dataEncoding: 'binary' | 'json';
  /**
   * Charges one message from this client (e.g. one it sent on a data channel)
   * to the same per-connection budget as its signaling frames
   * (--max-messages-per-second). False: drop the message; the client has been
   * told (RATE_LIMITED, at most once a second) or, if it keeps flooding,
   * disconnected.
   */
  allowMessage(): boolean;
}

/** Removal of a participant the client did not ask for (replaced, worker failed, node draining). */
export interface Removal {
  code: ErrorCode;
  message: string;
}

/**
 * One identity's presence in a room: its media worker, what its token allows,
 * the tracks it publishes and the tracks it receives. Messages for it are held
 * back until it has been told it joined, so nothing reaches a client before
 * `joined`.
 */
export class Participant {
  readonly published = new Map<string, ProducerInfo>();
  readonly subscribed = new Set<string>();
  state: 'joining' | 'joined' | 'left' = 'joining';
  /** Why it was removed, when the client did not leave by itself. */
  removal: Removal | undefined;
  private held: ServerMessage[] = [];

  constructor(
    readonly id: string,
    readonly identity: string,
    readonly room: string,
    readonly grants: ReadonlySet<Grant>,
    readonly worker: MediaWorkerHandle,
    readonly sink: ParticipantSink,
    readonly log: Logger,
    /** Receives only the tracks of this identity (a WHEP viewer's `?identity=`); all of the room's when unset. */
    readonly watching?: string,
  ) {}

  /** Whether this participant is to receive a track of `identity` (its grants aside). */
  wants(identity: string): boolean {
    return this.watching === undefined || this.watching === identity;
  }

  send(message: ServerMessage): void {
    if (this.state === 'left') return;
    if (this.state === 'joining') this.held.push(message);
    else this.sink.send(message);
  }

  /** Like `send` for droppable messages: false when the client is not reading (or not in the room). */
  trySend(message: ServerMessage): boolean {
    return this.state === 'joined' && this.sink.trySend(message);
  }

  /** Sends `joined`, then whatever was held back meanwhile. */
  markJoined(joined: ServerMessage): void {
    this.state = 'joined';
    this.sink.send(joined);
    for (const message of this.held) this.sink.send(message);
    this.held = [];
  }

  info(): { participantId: string; identity: string } {
    return { participantId: this.id, identity: this.identity };
  }
}
