/**
 * One side of the `raw` benchmark: node-datachannel alone, no SFU. The
 * sender sends RTP as fast as asked, the receiver counts it; each measures
 * its own process CPU, so the cost of sending and of receiving a packet come
 * out separately. Driven over IPC by raw-floor.ts.
 */
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import { guarded } from '../../media/binding/guard-callbacks.js';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { RtpSource } from '../client/rtp-source.js';

export type RawCommand =
  | { type: 'setup'; role: 'sender' | 'receiver' }
  | { type: 'description'; sdp: string; kind: 'offer' | 'answer' }
  | { type: 'candidate'; candidate: string; mid: string }
  | { type: 'start' }
  | { type: 'send'; packetsPerSecond: number; durationMs: number; packetBytes: number }
  | { type: 'report' }
  | { type: 'stop' };

export type RawReply =
  | { type: 'description'; sdp: string; kind: 'offer' | 'answer' }
  | { type: 'candidate'; candidate: string; mid: string }
  | { type: 'open' }
  /** The connection failed or closed before the benchmark ended (e.g. libdatachannel's loopback DTLS race). */
  | { type: 'failed'; state: string }
  | { type: 'report'; packets: number; cpuMicros: number };

let pc: PeerConnection;
let track: Track | undefined;
let packets = 0;
let cpuAtStart = process.cpuUsage();
const candidates: Array<[string, string]> = [];
const send = (reply: RawReply) => process.send!(reply);

function setup(role: 'sender' | 'receiver'): void {
  pc = new nodeDataChannel.PeerConnection(`raw-${role}`, { iceServers: [], bindAddress: '127.0.0.1' });
  pc.onLocalDescription(guarded((sdp, kind) => send({ type: 'description', sdp, kind: kind as 'offer' | 'answer' })));
  pc.onLocalCandidate(guarded((candidate, mid) => send({ type: 'candidate', candidate, mid })));
  pc.onStateChange(guarded((state) => {
    if (state === 'failed' || state === 'closed') send({ type: 'failed', state });
  }));
  if (role === 'sender') {
    const video = new nodeDataChannel.Video('0', 'SendOnly');
    video.addVideoCodec(96, 'VP8');
    video.addSSRC(0x1234, 'raw', 'raw', 'raw-video');
    track = keepUntilClosed(pc.addTrack(video));
    track.onMessage(guarded(() => undefined));
    track.onOpen(guarded(() => send({ type: 'open' })));
    pc.setLocalDescription();
  } else {
    pc.onTrack(guarded((incoming) => {
      track = keepUntilClosed(incoming);
      incoming.onMessage(guarded(() => packets++));
      incoming.onOpen(guarded(() => send({ type: 'open' })));
    }));
  }
}

/** Sends at a steady rate, in small batches every millisecond, for `durationMs`. */
function sendFor(packetsPerSecond: number, durationMs: number, packetBytes: number): void {
  const source = new RtpSource(0x1234, 96, 90000);
  // One packet, refilled in place after each send (sendMessageBinary copies it): the floor is the binding's cost alone.
  const packet = source.next(packetBytes);
  const started = performance.now();
  const tick = () => {
    const elapsed = performance.now() - started;
    const due = Math.min(Math.floor((elapsed * packetsPerSecond) / 1000), Math.floor((durationMs * packetsPerSecond) / 1000));
    while (packets < due) {
      try {
        track!.sendMessageBinary(source.refill(packet, { tsStep: 30 }));
      } catch {
        break;
      }
      packets++;
    }
    if (elapsed < durationMs) setTimeout(tick, 1);
  };
  tick();
}

/**
 * A candidate for a connection that already failed has no ICE transport to go
 * to ("Got a remote candidate without ICE transport"): libdatachannel throws.
 * The failure itself was reported by the state callback; the parent retries.
 */
function addCandidate(candidate: string, mid: string): void {
  try {
    pc.addRemoteCandidate(candidate, mid);
  } catch (error) {
    send({ type: 'failed', state: (error as Error).message });
  }
}

process.on('message', (command: RawCommand) => {
  switch (command.type) {
    case 'setup':
      setup(command.role);
      break;
    case 'description':
      pc.setRemoteDescription(command.sdp, command.kind);
      for (const [candidate, mid] of candidates.splice(0)) addCandidate(candidate, mid);
      break;
    case 'candidate':
      if (pc.remoteDescription()) addCandidate(command.candidate, command.mid);
      else candidates.push([command.candidate, command.mid]);
      break;
    case 'start':
      packets = 0;
      cpuAtStart = process.cpuUsage();
      break;
    case 'send':
      packets = 0;
      cpuAtStart = process.cpuUsage();
      sendFor(command.packetsPerSecond, command.durationMs, command.packetBytes);
      break;
    case 'report': {
      const cpu = process.cpuUsage(cpuAtStart);
      send({ type: 'report', packets, cpuMicros: cpu.user + cpu.system });
      break;
    }
    case 'stop':
      track?.close();
      pc.close();
      setTimeout(() => {
        nodeDataChannel.cleanup();
        process.exit(0);
      }, 200);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
