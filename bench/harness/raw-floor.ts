import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { RawResult } from '../report/types.js';
import type { RawCommand, RawReply } from './raw-peer.js';
import { withTimeout } from './with-timeout.js';

const PEER = fileURLToPath(new URL('./raw-peer.js', import.meta.url));

export interface RawOptions {
  packetsPerSecond: number;
  durationS: number;
  packetBytes: number;
}

/**
 * The binding floor: the CPU node-datachannel spends to send one RTP packet
 * (encrypt, UDP send) and to receive one (UDP receive, decrypt, the JS
 * callback), measured in two processes connected over loopback, no SFU.
 */
export async function measureRawFloor(options: RawOptions): Promise<Omit<RawResult, 'bySize'>> {
  const { sender, receiver } = await connectPair();
  try {
    await sleep(300);
    command(receiver, { type: 'start' });
    command(sender, { type: 'send', packetsPerSecond: options.packetsPerSecond, durationMs: options.durationS * 1000, packetBytes: options.packetBytes });
    await sleep(options.durationS * 1000 + 500);
    const sent = nextReply(sender, 'report');
    const received = nextReply(receiver, 'report');
    command(sender, { type: 'report' });
    command(receiver, { type: 'report' });
    const [s, r] = (await withTimeout(Promise.all([sent, received]), 5000, 'the raw reports')) as Array<Extract<RawReply, { type: 'report' }>>;
    return {
      packets: s!.packets,
      packetBytes: options.packetBytes,
      sendMicrosPerPacket: s!.packets > 0 ? s!.cpuMicros / s!.packets : 0,
      receiveMicrosPerPacket: r!.packets > 0 ? r!.cpuMicros / r!.packets : 0,
      lossPercent: s!.packets > 0 ? (100 * Math.max(0, s!.packets - r!.packets)) / s!.packets : 0,
    };
  } finally {
    await stopPair(sender, receiver);
  }
}

/** Connection attempts before the floor gives up: libdatachannel on loopback sometimes fails a DTLS handshake. */
const CONNECT_ATTEMPTS = 3;

/** A sender and a receiver process with their connection open; a pair that fails to connect is replaced. */
async function connectPair(): Promise<{ sender: ChildProcess; receiver: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const sender = fork(PEER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const receiver = fork(PEER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    relay(sender, receiver);
    relay(receiver, sender);
    const opened = Promise.all([nextReply(sender, 'open'), nextReply(receiver, 'open')]);
    const failed = Promise.race([nextReply(sender, 'failed'), nextReply(receiver, 'failed')]).then((reply) => {
      throw new Error(`the raw connection ${(reply as Extract<RawReply, { type: 'failed' }>).state}`);
    });
    command(receiver, { type: 'setup', role: 'receiver' });
    command(sender, { type: 'setup', role: 'sender' });
    try {
      await withTimeout(Promise.race([opened, failed]), 15_000, 'the raw peers to connect');
      failed.catch(() => undefined);
      return { sender, receiver };
    } catch (error) {
      failed.catch(() => undefined);
      await stopPair(sender, receiver);
      if (attempt >= CONNECT_ATTEMPTS) throw error;
    }
  }
}

async function stopPair(...children: ChildProcess[]): Promise<void> {
  for (const child of children) {
    if (child.exitCode !== null) continue;
    const exited = once(child, 'exit');
    if (child.connected) command(child, { type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function command(child: ChildProcess, message: RawCommand): void {
  child.send(message);
}

/** Passes descriptions and candidates from one peer to the other. */
function relay(from: ChildProcess, to: ChildProcess): void {
  from.on('message', (reply: RawReply) => {
    if ((reply.type === 'description' || reply.type === 'candidate') && to.connected) to.send(reply);
  });
}

function nextReply(child: ChildProcess, type: RawReply['type']): Promise<RawReply> {
  return new Promise((resolve) => {
    const onMessage = (reply: RawReply) => {
      if (reply.type !== type) return;
      child.off('message', onMessage);
      resolve(reply);
    };
    child.on('message', onMessage);
  });
}
