import type { shoal } from '../../proto/generated/shoal.js';
import { encodeDataMessage, ErrorCode, ProtocolError, type DataMessage } from '../signaling/codec.js';
import type { Participant } from './participant.js';
import type { Room } from './room.js';

/** A data message as recipients get it (sender filled in). */
export type DeliveredData = shoal.signaling.v1.DataMessage.$Properties;

/** Carries data messages to participants on other nodes (NATS in a cluster). */
export interface DataLink {
  send(nodeId: string, room: string, recipientIds: string[], message: DeliveredData): void;
}

/** Why a recipient did not get a message. */
type Undelivered = 'not reading' | 'left the room';

/**
 * Data messages between the participants of a room. Each message reaches each
 * recipient once: on its data channel when that is open, else over its
 * WebSocket. A recipient that does not read (its channel queue or socket
 * buffer at the bound) misses the message but stays in the room; the sender
 * then gets DATA_NOT_DELIVERED naming who missed it. Recipients on other
 * nodes get it through the DataLink, once per node; their node delivers it
 * the same way (what they miss is not reported back).
 */
export class DataRelay {
  constructor(
    private readonly maxPayloadBytes: number,
    private readonly link: DataLink | undefined,
  ) {}

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
    const { local, remote } = this.recipients(from, room, message);
    const delivered: DeliveredData = {
      fromParticipantId: from.id,
      fromIdentity: from.identity,
      ...(message.unreliable ? { unreliable: true } : {}),
      ...(message.payload === 'binary' ? { binary: message.binary } : { text: message.text }),
    };
    for (const [nodeId, recipientIds] of remote) this.link?.send(nodeId, room.name, recipientIds, delivered);
    void this.deliverAll(local, delivered).then((missed) => {
      if (missed.length === 0) return;
      const who = missed.map(([recipient, why]) => `${recipient.identity} (${why})`).join(', ');
      from.send({ requestId, error: { code: ErrorCode.DATA_NOT_DELIVERED, message: `data message not delivered to ${who}` } });
    });
  }

  /** A message another node relayed to participants of `room` here. */
  relayFromCluster(room: Room, recipientIds: string[], delivered: DeliveredData): void {
    const recipients = recipientIds.map((id) => room.participants.get(id)).filter((p): p is Participant => p?.state === 'joined');
    void this.deliverAll(recipients, delivered);
  }

  private recipients(from: Participant, room: Room, message: DataMessage): { local: Participant[]; remote: Map<string, string[]> } {
    const local: Participant[] = [];
    const remote = new Map<string, string[]>();
    const addRemote = (nodeId: string, id: string) => {
      const ids = remote.get(nodeId);
      if (ids) ids.push(id);
      else remote.set(nodeId, [id]);
    };
    if (message.toIdentities.length === 0) {
      local.push(...room.joinedOthers(from));
      for (const p of room.remote.values()) addRemote(p.nodeId, p.id);
      return { local, remote };
    }
    for (const identity of new Set(message.toIdentities)) {
      if (identity === from.identity) continue;
      const here = room.withIdentity(identity);
      const elsewhere = room.remoteWithIdentity(identity);
      if (here?.state === 'joined') local.push(here);
      else if (elsewhere) addRemote(elsewhere.nodeId, elsewhere.id);
      else throw new ProtocolError(ErrorCode.UNKNOWN_PARTICIPANT, `no participant "${identity}" in room "${room.name}"`);
    }
    return { local, remote };
  }

  private async deliverAll(recipients: Participant[], delivered: DeliveredData): Promise<Array<readonly [Participant, Undelivered]>> {
    const results = await Promise.all(recipients.map(async (recipient) => [recipient, await this.deliver(recipient, delivered)] as const));
    return results.filter((r): r is readonly [Participant, Undelivered] => r[1] !== undefined);
  }

  /** One recipient, once: its data channel, or its WebSocket when the channel is not open. */
  private async deliver(recipient: Participant, delivered: DeliveredData): Promise<Undelivered | undefined> {
    const encoded = encodeDataMessage(delivered, recipient.sink.dataEncoding);
    const result = await recipient.worker
      .request('sendData', { participantId: recipient.id, unreliable: delivered.unreliable === true, message: encoded })
      .catch(() => 'unavailable' as const);
    if (result === 'sent') return undefined;
    if (recipient.state !== 'joined') return 'left the room';
    if (result === 'full') return 'not reading';
    return recipient.trySend({ data: delivered }) ? undefined : 'not reading';
  }
}
