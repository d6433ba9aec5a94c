import { shoal } from '../../proto/generated/shoal.js';
import type { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { Participant } from '../rooms/participant.js';
import type { Removal, RoomService, SessionSink } from '../rooms/room-service.js';
import {
  decodeClientMessage,
  encodeServerMessage,
  ErrorCode,
  ProtocolError,
  type ClientMessage,
  type Encoding,
  type ServerMessage,
} from './codec.js';
import { MessageBudget } from './message-budget.js';

const { ConnectionRole } = shoal.signaling.v1;

/** The transport under a session: one WebSocket. */
export interface SessionSocket {
  send(data: string | Uint8Array, binary: boolean): void;
  /** Bytes sent but not yet taken by the client. */
  bufferedAmount(): number;
  /** Closes the WebSocket (closing handshake with `code` and `reason`); `onClose` follows. */
  close(code: number, reason: string): void;
}

export interface SessionLimits {
  /** Largest frame handled; larger ones get MESSAGE_TOO_LARGE. */
  maxMessageBytes: number;
  /** Messages per second, sustained (bursts of twice that pass): frames, pings and pongs, and what `allowMessage` is asked about. */
  maxMessagesPerSecond: number;
}

/** WebSocket close code for a client that keeps sending over its rate (policy violation). */
const CLOSE_RATE_LIMITED = 1008;

/**
 * A session whose socket holds more than this unsent refuses droppable messages (data) rather than fall
 * further behind: half of what the listener buffers before it closes the socket (4 MiB), the rest is for
 * the messages that cannot be dropped.
 */
const DROPPABLE_BACKLOG_BYTES = 2 * 1024 * 1024;

/**
 * One client's WebSocket: decodes its frames, answers in its encoding, and
 * drives its participant through the RoomService. Messages are handled one at
 * a time in arrival order (pings excepted), so a trickled candidate never
 * overtakes the offer it belongs to. Bad input gets an error message and
 * changes nothing else. Every frame is charged to the client's message
 * budget first; at most a burst's worth of messages wait in the queue.
 */
export class SignalingSession implements SessionSink {
  private participant: Participant | undefined;
  private encoding: Encoding = 'json';
  private queue: Promise<void> = Promise.resolve();
  /** Messages queued and not handled yet. */
  private waiting = 0;
  private closed = false;
  private readonly budget: MessageBudget;

  constructor(
    private readonly socket: SessionSocket,
    private readonly rooms: RoomService,
    private readonly limits: SessionLimits,
    private readonly warnings: RateLimitedLog,
  ) {
    this.budget = new MessageBudget(limits.maxMessagesPerSecond);
  }

  get dataEncoding(): Encoding {
    return this.encoding;
  }

  /**
   * Charges one message of this client (a frame, or a message it sent on a
   * data channel) to its budget. False: drop the message. Over the budget the
   * client is told (RATE_LIMITED, at most once a second); a client that keeps
   * flooding is disconnected.
   */
  allowMessage(): boolean {
    if (this.closed) return false;
    const verdict = this.budget.charge();
    if (verdict === 'accept') return true;
    const rate = this.limits.maxMessagesPerSecond;
    if (verdict === 'drop-and-tell') {
      this.sendError(0, ErrorCode.RATE_LIMITED, `over ${rate} messages per second: messages are being dropped`);
    } else if (verdict === 'disconnect') {
      this.warnings.warn('rate-limit-disconnect', { participant: this.participant?.id, room: this.participant?.room }, 'client kept sending over its message rate: disconnected');
      this.sendError(0, ErrorCode.RATE_LIMITED, `kept sending over ${rate} messages per second: disconnected`);
      this.close(CLOSE_RATE_LIMITED, 'message rate exceeded');
    }
    return false;
  }

  /** Sends an error and closes the socket (the node is full, the client floods). */
  closeWithError(code: ErrorCode, message: string, closeCode: number, reason: string): void {
    this.sendError(0, code, message);
    this.close(closeCode, reason);
  }

  /** A WebSocket ping or pong from the client: answered by the listener, charged here. */
  onControlFrame(): void {
    this.allowMessage();
  }

  onFrame(data: Uint8Array, binary: boolean): void {
    if (!this.allowMessage()) return;
    this.encoding = binary ? 'binary' : 'json';
    if (data.length > this.limits.maxMessageBytes) {
      this.sendError(0, ErrorCode.MESSAGE_TOO_LARGE, `frame of ${data.length} bytes is over the limit of ${this.limits.maxMessageBytes}`);
      return;
    }
    let message: ClientMessage;
    try {
      message = decodeClientMessage(data, binary);
    } catch (error) {
      const e = error as ProtocolError;
      this.sendError(0, e.code ?? ErrorCode.MALFORMED_MESSAGE, e.message);
      return;
    }
    if (message.message === 'ping') {
      this.send({ requestId: message.requestId, pong: { nonce: message.ping?.nonce ?? 0 } });
      return;
    }
    if (this.waiting >= 2 * this.limits.maxMessagesPerSecond) {
      this.sendError(message.requestId, ErrorCode.RATE_LIMITED, `${this.waiting} messages are waiting to be handled: message dropped`);
      return;
    }
    this.waiting++;
    this.queue = this.queue.then(async () => {
      await this.handle(message);
      this.waiting--;
    });
  }

  onClose(): void {
    this.closed = true;
    const participant = this.participant;
    this.participant = undefined;
    if (participant) {
      this.queue = this.queue
        .then(() => this.rooms.leave(participant))
        .catch((error) => this.warnings.error('leave-failed', { err: error, participant: participant.id, room: participant.room }, 'leave failed'));
    }
  }

  send(message: ServerMessage): void {
    if (this.closed) return;
    // Canonical JSON leaves out defaults: no "requestId": 0 on unsolicited messages.
    const { requestId, ...rest } = message;
    const out = requestId ? message : rest;
    this.socket.send(encodeServerMessage(out, this.encoding), this.encoding === 'binary');
  }

  trySend(message: ServerMessage): boolean {
    if (this.closed || this.socket.bufferedAmount() > DROPPABLE_BACKLOG_BYTES) return false;
    this.send(message);
    return true;
  }

  attach(participant: Participant): void {
    if (!this.closed) this.participant = participant;
  }

  removed(participant: Participant, removal: Removal): void {
    if (this.participant !== participant) return;
    this.participant = undefined;
    this.sendError(0, removal.code, removal.message);
  }

  private async handle(message: ClientMessage): Promise<void> {
    const requestId = message.requestId;
    try {
      switch (message.message) {
        case 'join':
          await this.join(message.join as shoal.signaling.v1.Join, requestId);
          break;
        case 'publishOffer': {
          const answer = await this.rooms.publish(this.joined(), (message.publishOffer as shoal.signaling.v1.PublishOffer).sdp);
          this.send({ requestId, publishAnswer: answer });
          break;
        }
        case 'subscriberAnswer': {
          const answer = message.subscriberAnswer as shoal.signaling.v1.SubscriberAnswer;
          await this.rooms.answerSubscriber(this.joined(), answer.sdp, answer.offerId);
          break;
        }
        case 'trickle': {
          const { target, candidate, sdpMid } = message.trickle as shoal.signaling.v1.Trickle;
          if (target !== ConnectionRole.PUBLISHER && target !== ConnectionRole.SUBSCRIBER) {
            throw new ProtocolError(ErrorCode.MALFORMED_MESSAGE, 'trickle.target must be PUBLISHER or SUBSCRIBER');
          }
          const role = target === ConnectionRole.PUBLISHER ? 'publisher' : 'subscriber';
          await this.rooms.addCandidate(this.joined(), role, candidate, sdpMid);
          break;
        }
        case 'data':
          this.rooms.sendData(this.joined(), message.data as shoal.signaling.v1.DataMessage, requestId);
          break;
        case 'leave': {
          const participant = this.joined();
          this.participant = undefined;
          await this.rooms.leave(participant);
          this.send({ requestId, left: { reason: 'left' } });
          break;
        }
        default:
          throw new ProtocolError(ErrorCode.UNKNOWN_MESSAGE, `unknown message type "${message.message}"`);
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.sendError(requestId, error.code, error.message);
      } else {
        this.warnings.error('message-handling-failed', { err: error, message: message.message, participant: this.participant?.id }, 'message handling failed');
        this.sendError(requestId, ErrorCode.INTERNAL, 'internal error');
      }
    }
  }

  private async join(join: shoal.signaling.v1.Join, requestId: number): Promise<void> {
    if (this.participant) throw new ProtocolError(ErrorCode.ALREADY_JOINED, `already in room "${this.participant.room}"`);
    // The room service attaches the participant to this session before it sends `joined`.
    const participant = await this.rooms.join(this, { room: join.room, identity: join.identity, mustExist: join.mustExist, token: join.token }, requestId);
    if (this.closed) await this.rooms.leave(participant);
  }

  private joined(): Participant {
    if (!this.participant) throw new ProtocolError(ErrorCode.NOT_JOINED, 'join a room first');
    return this.participant;
  }

  private sendError(requestId: number, code: ErrorCode, message: string): void {
    this.send({ requestId, error: { code, message } });
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
  }
}
