import type { DataChannel } from 'node-datachannel';
import type { EmitEvent } from './transport-context.js';
import { guarded } from '../binding/guard-callbacks.js';

/** Reports every message a client sends on `channel` as a `data` event; the control plane routes it. */
export function relayIncomingData(channel: DataChannel, participantId: string, emit: EmitEvent): void {
  channel.onMessage(guarded((message) => {
    emit({
      type: 'data',
      participantId,
      message: typeof message === 'string' ? message : new Uint8Array(message as ArrayBuffer),
    });
  }));
}

/** What became of a data message handed to a channel. */
export type DataSendResult = 'sent' | 'unavailable' | 'full';

/**
 * Bytes a channel may hold unsent before further messages for it are refused (a recipient that does not
 * read): a burst of 64 messages of the largest size fits, however slowly SCTP drains it.
 */
const MAX_CHANNEL_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * Sends on `channel`. 'sent' when libdatachannel took the message (sent at
 * once or queued: either way it will be delivered, so nothing else may send it
 * again); 'unavailable' when the channel is not open or refuses the message
 * (e.g. over the client's max-message-size), so another path may carry it;
 * 'full' when the recipient is not reading and its queue is at the bound.
 */
export function sendOnChannel(channel: DataChannel | undefined, message: string | Uint8Array): DataSendResult {
  if (!channel || !channel.isOpen()) return 'unavailable';
  const size = typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
  if (channel.bufferedAmount() + size > MAX_CHANNEL_BUFFERED_BYTES) return 'full';
  try {
    if (typeof message === 'string') channel.sendMessage(message);
    else channel.sendMessageBinary(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    return 'sent';
  } catch {
    return 'unavailable';
  }
}
