/**
 * A client process of the benchmark and load-test harness: runs synthetic
 * participants (MediaPeers) as the orchestrator asks over IPC, and reports
 * what they received. One process per core or so keeps clients from starving.
 */
import nodeDataChannel from 'node-datachannel';
import { MediaPeer } from '../client/media-peer.js';
import { LatencyHistogram } from '../client/stream-stats.js';
import type { ClientSnapshot, FleetCommand, FleetReply, PeerPlan } from './fleet-protocol.js';

const peers: MediaPeer[] = [];
/** One-way latency at the participants of each node (by index into the join command's urls). */
const latencyByNode: LatencyHistogram[] = [];
let cpuAtReset = process.cpuUsage();

function reply(message: FleetReply): void {
  process.send!(message);
}

async function join(command: Extract<FleetCommand, { type: 'join' }>): Promise<void> {
  const failures: string[] = [];
  const started = await Promise.all(
    command.peers.map(async (plan: PeerPlan, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * command.rampMs));
      const node = plan.node ?? 0;
      try {
        const url = command.urls[node];
        if (url === undefined) throw new Error(`no node ${node}: ${command.urls.length} urls`);
        latencyByNode[node] ??= new LatencyHistogram();
        const latency = latencyByNode[node];
        const peer = await MediaPeer.join({ url, room: plan.room, identity: plan.identity, token: plan.token, feedback: true, latency });
        peers.push(peer);
        if (plan.publish) {
          await peer.publish({ audio: plan.publish.audio, video: plan.publish.video ? 'VP8' : false });
          await peer.waitPublisherConnected(15_000);
          peer.startMedia(command.profile);
        }
        return true;
      } catch (error) {
        failures.push(`${plan.identity}: ${(error as Error).message}`);
        return false;
      }
    }),
  );
  reply({ type: 'joined', joined: started.filter(Boolean).length, failures });
}

function reset(): void {
  for (const histogram of latencyByNode) histogram?.reset();
  for (const peer of peers) for (const track of peer.received.values()) track.resetStats();
  cpuAtReset = process.cpuUsage();
}

function snapshot(): ClientSnapshot {
  const s: ClientSnapshot = {
    packetsExpected: 0,
    packetsReceived: 0,
    latencyByNode: Array.from(latencyByNode, (h) => ({ buckets: h?.sparse() ?? [], maxMs: h?.maxMs ?? 0 })),
    jitterSumMs: 0,
    jitterSamples: 0,
    nacksSent: 0,
    plisSent: 0,
    retransmissions: 0,
    tracksReceiving: 0,
    cpuUserMicros: 0,
    cpuSystemMicros: 0,
  };
  for (const peer of peers) {
    for (const track of peer.received.values()) {
      s.packetsExpected += track.stream.expected;
      s.packetsReceived += track.stream.received;
      s.jitterSumMs += track.stream.jitterSumMs;
      s.jitterSamples += track.stream.jitterSamples;
      s.nacksSent += track.nacksSent;
      s.plisSent += track.plisSent;
      s.retransmissions += track.retransmissions;
      if (track.stream.received > 0) s.tracksReceiving++;
    }
  }
  const cpu = process.cpuUsage(cpuAtReset);
  s.cpuUserMicros = cpu.user;
  s.cpuSystemMicros = cpu.system;
  return s;
}

let stopping = false;

function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const peer of peers.splice(0)) peer.close();
  // Closing is asynchronous in libdatachannel; give it a moment before releasing the binding.
  setTimeout(() => {
    nodeDataChannel.cleanup();
    process.exit(0);
  }, 200);
}

process.on('message', (command: FleetCommand) => {
  switch (command.type) {
    case 'join':
      void join(command);
      break;
    case 'reset':
      reset();
      break;
    case 'snapshot':
      reply({ type: 'snapshot', snapshot: snapshot() });
      break;
    case 'stop':
      stop();
      break;
  }
});
// The orchestrator went away: nothing to measure for.
process.on('disconnect', () => stop());
