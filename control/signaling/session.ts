import type { Logger } from 'pino';
import { shoal } from '../../proto/generated/shoal.js';
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

const { ConnectionRole } = shoal.signaling.v1;

/** The transport under a session: one WebSocket. */
export interface SessionSocket {
  send(data: string | Uint8Array, binary: boolean): void;
  /** Bytes sent but not yet taken by the client. */
  bufferedAmount(): number;
}

/** A session whose socket holds more than this unsent refuses droppable messages (data) rather than fall further behind. */
const DROPPABLE_BACKLOG_BYTES = 1024 * 1024;

/**
 * One client's WebSocket: decodes its frames, answers in its encoding, and
 * drives its participant through the RoomService. Messages are handled one at
 * a time in arrival order (pings excepted), so a trickled candidate never
 * overtakes the offer it belongs to. Bad input gets an error message and
 * changes nothing else.
 */
export class SignalingSession implements SessionSink {
  private participant: Participant | undefined;
  private encoding: Encoding = 'json';
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: SessionSocket,
    private readonly rooms: RoomService,
    private readonly maxMessageBytes: number,
    private readonly log: Logger,
  ) {}

  get dataEncoding(): Encoding {
    return this.encoding;
  }

  onFrame(data: Uint8Array, binary: boolean): void {
    this.encoding = binary ? 'binary' : 'json';
    if (data.length > this.maxMessageBytes) {
      this.sendError(0, ErrorCode.MESSAGE_TOO_LARGE, `frame of ${data.length} bytes is over the limit of ${this.maxMessageBytes}`);
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
    this.queue = this.queue.then(() => this.handle(message));
  }

  onClose(): void {
    this.closed = true;
    const participant = this.participant;
    this.participant = undefined;
    if (participant) {
      this.queue = this.queue.then(() => this.rooms.leave(participant)).catch((error) => this.log.error({ err: error }, 'leave failed'));
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
        this.log.error({ err: error, message: message.message }, 'message handling failed');
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
}
