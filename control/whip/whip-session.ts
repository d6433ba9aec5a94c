import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Participant } from '../rooms/participant.js';
import type { Removal, RoomService, SessionSink } from '../rooms/room-service.js';
import { ErrorCode, type ServerMessage } from '../signaling/codec.js';
import { MessageBudget, type BudgetVerdict } from '../signaling/message-budget.js';

export type WhipProtocol = 'whip' | 'whep';

/**
 * One WHIP or WHEP session: the HTTP resource a POST created (its URL holds
 * 128 random bits) and the participant behind it. The participant's server
 * messages come here like a WebSocket session's, but an HTTP client cannot be
 * told anything after the POST's response: they are dropped, except those
 * that end the session (replaced, worker failed, node draining, its media
 * connection failed), which end the resource too. Data messages for it are
 * dropped (it has no data channel) without being reported as missed.
 */
export class WhipSession implements SessionSink {
  readonly id = randomBytes(16).toString('hex');
  /** Names the ICE session (RFC 9725 section 4.3.1); it never changes: ICE restarts are refused. */
  readonly etag = `"${randomBytes(9).toString('base64url')}"`;
  readonly dataEncoding = 'json';
  participant: Participant | undefined;
  /** The client's ICE credentials, from its offer: a PATCH naming others asks for an ICE restart. */
  iceCredentials: { ufrag: string; pwd: string } | undefined;
  /** The mid candidates without one are given (the offer's first m-line). */
  firstMid = '0';
  /** Its POST was answered 201 (a session refused while being set up ends without a log line). */
  started = false;
  private readonly budget: MessageBudget;
  private ended = false;

  constructor(
    readonly protocol: WhipProtocol,
    readonly room: string,
    private readonly rooms: RoomService,
    maxRequestsPerSecond: number,
    /** Called once when the session ends, whatever ended it. */
    private readonly onEnd: (session: WhipSession) => void,
    readonly log: Logger,
  ) {
    this.budget = new MessageBudget(maxRequestsPerSecond);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The resource's path, for the Location header. */
  get path(): string {
    return `/${this.protocol}/${this.room}/${this.id}`;
  }

  /** Charges one request on the resource (PATCH, DELETE, ...) to its budget. */
  charge(): BudgetVerdict {
    return this.budget.charge();
  }

  send(message: ServerMessage): void {
    const error = message.error;
    if (!error || this.ended) return;
    if (error.code === ErrorCode.CONNECTION_FAILED) void this.end('its media connection failed');
  }

  trySend(): boolean {
    return true;
  }

  allowMessage(): boolean {
    return !this.ended && this.budget.charge() === 'accept';
  }

  attach(participant: Participant): void {
    this.participant = participant;
  }

  /** The participant was removed (replaced, its worker failed, the node drains): it has left already. */
  removed(participant: Participant, removal: Removal): void {
    if (participant !== this.participant) return;
    this.finish(removal.message);
  }

  /** Ends the session: the participant leaves the room (its tracks are unpublished, its connections closed). */
  async end(reason: string): Promise<void> {
    if (this.ended) return;
    const participant = this.participant;
    this.finish(reason);
    if (participant) await this.rooms.leave(participant);
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    if (this.started) (this.participant?.log ?? this.log).info({ session: this.id, reason }, `${this.protocol.toUpperCase()} session ended`);
  }
}
