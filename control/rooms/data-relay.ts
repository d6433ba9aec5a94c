import type { shoal } from '../../proto/generated/shoal.js';
import { encodeDataMessage, ErrorCode, ProtocolError, type DataMessage } from '../signaling/codec.js';
import type { Participant } from './participant.js';
import type { Room } from './room.js';

/** Why a recipient did not get a message. */
type Undelivered = 'not reading' | 'left the room';

/**
 * Data messages between the participants of a room. Each message reaches each
 * recipient once: on its data channel when that is open, else over its
 * WebSocket. A recipient that does not read (its channel queue or socket
 * buffer at the bound) misses the message but stays in the room; the sender
 * then gets DATA_NOT_DELIVERED naming who missed it.
 */
export class DataRelay {
  constructor(private readonly maxPayloadBytes: number) {}

  /**
   * Checks `message` and starts delivering it; throws ProtocolError when it
   * cannot be sent at all. `requestId` is echoed on a DATA_NOT_DELIVERED error
   * (0 for messages that came on a data channel).
   */
  relay(from: Participant, room: Room, message: DataMessage, requestId: number): void {
    const size = message.payload === 'binary' ? (message.binary?.length ?? 0) : Buffer.byteLength(message.text ?? '');
    if (size > this.maxPayloadBytes) {
      throw new ProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `data payload of ${size} bytes is over ${this.maxPayloadBytes}`);
    }
    const recipients = this.recipients(from, room, message);
    const delivered: shoal.signaling.v1.DataMessage.$Properties = {
      fromParticipantId: from.id,
      fromIdentity: from.identity,
      ...(message.unreliable ? { unreliable: true } : {}),
      ...(message.payload === 'binary' ? { binary: message.binary } : { text: message.text }),
    };
    void Promise.all(recipients.map(async (recipient) => [recipient, await this.deliver(recipient, delivered, message.unreliable)] as const)).then(
      (results) => {
        const missed = results.filter(([, result]) => result !== undefined);
        if (missed.length === 0) return;
        const who = missed.map(([recipient, why]) => `${recipient.identity} (${why})`).join(', ');
        from.send({ requestId, error: { code: ErrorCode.DATA_NOT_DELIVERED, message: `data message not delivered to ${who}` } });
      },
    );
  }

  private recipients(from: Participant, room: Room, message: DataMessage): Participant[] {
    if (message.toIdentities.length === 0) return room.joinedOthers(from);
    return [...new Set(message.toIdentities)]
      .map((identity) => {
        const recipient = room.withIdentity(identity);
        if (!recipient || recipient.state !== 'joined') {
          throw new ProtocolError(ErrorCode.UNKNOWN_PARTICIPANT, `no participant "${identity}" in room "${room.name}"`);
        }
        return recipient;
      })
      .filter((recipient) => recipient !== from);
  }

  /** One recipient, once: its data channel, or its WebSocket when the channel is not open. */
  private async deliver(
    recipient: Participant,
    delivered: shoal.signaling.v1.DataMessage.$Properties,
    unreliable: boolean,
  ): Promise<Undelivered | undefined> {
    const encoded = encodeDataMessage(delivered, recipient.sink.dataEncoding);
    const result = await recipient.worker
      .request('sendData', { participantId: recipient.id, unreliable, message: encoded })
      .catch(() => 'unavailable' as const);
    if (result === 'sent') return undefined;
    if (recipient.state !== 'joined') return 'left the room';
    if (result === 'full') return 'not reading';
    return recipient.trySend({ data: delivered }) ? undefined : 'not reading';
  }
}
