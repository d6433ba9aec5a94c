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

export function sendOnChannel(channel: DataChannel | undefined, message: string | Uint8Array): boolean {
  if (!channel || !channel.isOpen()) return false;
  return typeof message === 'string'
    ? channel.sendMessage(message)
    : channel.sendMessageBinary(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
}
