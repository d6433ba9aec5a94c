import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { DataLink, DeliveredData } from '../rooms/data-relay.js';
import { shoal } from '../../proto/generated/shoal.js';

const { ClusterData } = shoal.cluster.v1;
const { DataMessage } = shoal.signaling.v1;

/** The subject a node receives data messages for its participants on. */
export function dataSubject(nodeId: string): string {
  return `shoal.data.${nodeId}`;
}

/** What a data message from another node is handed to. */
export type ClusterDataHandler = (room: string, recipientIds: string[], message: DeliveredData) => void;

/**
 * Data messages between nodes: one NATS message per message and receiving
 * node (core NATS, at most once: a message sent while NATS is unreachable is
 * lost, like an unreliable data channel message). Messages from other nodes
 * are checked before they reach the rooms.
 */
export class NatsDataLink implements DataLink {
  private readonly subscription: Subscription;
  private readonly warnings: RateLimitedLog;

  constructor(
    private readonly nc: NatsConnection,
    nodeId: string,
    /** Largest data payload a participant may send (--max-message-size). */
    private readonly maxPayloadBytes: number,
    private readonly maxRecipients: number,
    onMessage: ClusterDataHandler,
    log: Logger,
  ) {
    this.warnings = new RateLimitedLog(log);
    this.subscription = nc.subscribe(dataSubject(nodeId), {
      callback: (error, msg) => {
        if (error) return;
        try {
          const { room, recipientIds, message } = this.decode(msg.data);
          onMessage(room, recipientIds, message);
        } catch (problem) {
          this.warnings.warn('cluster-data', { err: problem, subject: msg.subject }, 'data message from another node dropped');
        }
      },
    });
  }

  send(nodeId: string, room: string, recipientIds: string[], message: DeliveredData): void {
    const data = ClusterData.encode({ room, recipientIds, message: DataMessage.encode(message).finish() }).finish();
    try {
      this.nc.publish(dataSubject(nodeId), data);
    } catch (error) {
      this.warnings.warn('cluster-data-send', { err: error, to: nodeId }, 'data message to another node not sent');
    }
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private decode(data: Uint8Array): { room: string; recipientIds: string[]; message: DeliveredData } {
    // Room, sender and recipient ids are short; the payload is bounded like a client's.
    if (data.length > this.maxPayloadBytes + 64 * 1024) throw new Error(`${data.length} bytes`);
    const decoded = ClusterData.decode(data);
    if (decoded.recipientIds.length > this.maxRecipients) throw new Error(`${decoded.recipientIds.length} recipients`);
    const message = DataMessage.decode(decoded.message);
    return {
      room: decoded.room,
      recipientIds: decoded.recipientIds,
      message: {
        fromParticipantId: message.fromParticipantId,
        fromIdentity: message.fromIdentity,
        ...(message.unreliable ? { unreliable: true } : {}),
        ...(message.payload === 'binary' ? { binary: message.binary } : { text: message.text ?? '' }),
      },
    };
  }
}
