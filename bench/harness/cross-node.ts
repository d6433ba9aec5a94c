/**
 * What forwarding across nodes costs next to forwarding on one node (issue 8,
 * point 16, ahead of `shoal bench --nodes`): one publisher of audio and video
 * (REALISTIC_PROFILE) and K subscribers, first all on node B, then the
 * publisher on node A and the subscribers on node B. Each node is its own
 * process with one worker; the clients run in this process.
 *
 *   node dist/bench/harness/cross-node.js [subscribers] [seconds]
 *
 * (in a loopback-only network namespace, as test/run.sh makes one);
 * SHOAL_BENCH_PROFILE_DIR=DIR writes V8 CPU profiles of both nodes there.
 *
 * Reported per phase: CPU per forwarded packet on the subscribers' node (and
 * per received packet on the publisher's), one-way latency at the
 * subscribers, and across nodes the NATS messages and bytes per packet.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import nodeDataChannel from 'node-datachannel';
import { MediaPeer, processLatency } from '../client/media-peer.js';
import { REALISTIC_PROFILE } from '../client/media-profile.js';
import { ClusterNodeProcess } from './cluster-node.js';
import { NatsServer } from './nats-server.js';

export interface CrossNodeOptions {
  subscribers: number;
  durationS: number;
  warmupS: number;
}

export interface PhaseResult {
  /** Packets the subscribers' node sent to subscribers in the window. */
  forwardedPackets: number;
  /** CPU time (all threads, its idle use taken out) of the subscribers' node per packet it forwarded, µs. */
  receivingNodeMicrosPerForwardedPacket: number;
  /** CPU time (idle use taken out) of the publisher's node per packet it received from the publisher, µs. */
  publishingNodeMicrosPerPacketIn: number;
  /** One-way latency at the subscribers, from the publisher's send time, ms. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Across nodes only: NATS traffic of the window (both gateways' publishes), per packet. */
  nats?: {
    messagesPerForwardedPacket: number;
    bytesPerForwardedPacket: number;
    /** Publishes of the publisher's node per packet it received: the batching factor's inverse. */
    messagesPerPublishedPacket: number;
    packetsPerRtpMessage: number;
    bytesPerRtpMessage: number;
  };
}

interface Totals {
  cpuS: number;
  packetsIn: number;
  packetsOut: number;
  natsMessagesOut: number;
  natsBytesOut: number;
  rtpMessagesOut: number;
  rtpPacketsOut: number;
  rtpBytesOut: number;
}

async function totals(node: ClusterNodeProcess): Promise<Totals> {
  const usage = node.usage();
  const workers = await node.request('workers', {});
  const gateway = await node.request('gateway', {});
  return {
    cpuS: usage.userS + usage.systemS,
    packetsIn: workers.reduce((n, w) => n + w.packetsIn, 0),
    packetsOut: workers.reduce((n, w) => n + w.packetsOut, 0),
    natsMessagesOut: gateway?.messagesOut ?? 0,
    natsBytesOut: gateway?.bytesOut ?? 0,
    rtpMessagesOut: gateway?.rtpMessagesOut ?? 0,
    rtpPacketsOut: gateway?.rtpPacketsOut ?? 0,
    rtpBytesOut: gateway?.rtpBytesOut ?? 0,
  };
}

function delta(end: Totals, start: Totals): Totals {
  const out = { ...end };
  for (const key of Object.keys(out) as Array<keyof Totals>) out[key] -= start[key];
  return out;
}

/** CPU a node uses with nothing to forward (timers, stats, NATS pings), cores. */
async function idleCores(node: ClusterNodeProcess, seconds: number): Promise<number> {
  const start = node.usage();
  await sleep(seconds * 1000);
  const end = node.usage();
  return (end.userS + end.systemS - start.userS - start.systemS) / seconds;
}

/** Measures one window once every subscriber receives: publisher on `publishing`, subscribers on `receiving`. */
async function measure(
  publishing: ClusterNodeProcess,
  receiving: ClusterNodeProcess,
  idle: Map<ClusterNodeProcess, number>,
  options: CrossNodeOptions,
  acrossNodes: boolean,
): Promise<PhaseResult> {
  await sleep(options.warmupS * 1000);
  processLatency.reset();
  const startA = await totals(publishing);
  const startB = acrossNodes ? await totals(receiving) : startA;
  const started = performance.now();
  await sleep(options.durationS * 1000);
  const a = delta(await totals(publishing), startA);
  const b = acrossNodes ? delta(await totals(receiving), startB) : a;
  const wallS = (performance.now() - started) / 1000;
  const busyS = (node: ClusterNodeProcess, totals: Totals) => Math.max(0, totals.cpuS - idle.get(node)! * wallS);
  const forwarded = b.packetsOut;
  const result: PhaseResult = {
    forwardedPackets: forwarded,
    receivingNodeMicrosPerForwardedPacket: (busyS(receiving, b) * 1e6) / forwarded,
    publishingNodeMicrosPerPacketIn: (busyS(publishing, a) * 1e6) / a.packetsIn,
    latencyP50Ms: processLatency.percentile(50),
    latencyP99Ms: processLatency.percentile(99),
  };
  if (acrossNodes) {
    const messages = a.natsMessagesOut + b.natsMessagesOut;
    result.nats = {
      messagesPerForwardedPacket: messages / forwarded,
      bytesPerForwardedPacket: (a.natsBytesOut + b.natsBytesOut) / forwarded,
      messagesPerPublishedPacket: a.rtpMessagesOut / a.packetsIn,
      packetsPerRtpMessage: a.rtpPacketsOut / a.rtpMessagesOut,
      bytesPerRtpMessage: a.rtpBytesOut / a.rtpMessagesOut,
    };
  }
  return result;
}

async function join(url: string, room: string, identity: string, peers: MediaPeer[]): Promise<MediaPeer> {
  const peer = await MediaPeer.join({ url, room, identity, bindAddress: '127.0.0.1', feedback: true });
  peers.push(peer);
  return peer;
}

async function publish(url: string, room: string, peers: MediaPeer[]): Promise<{ peer: MediaPeer; trackIds: string[] }> {
  const peer = await join(url, room, 'publisher', peers);
  const tracks = await peer.publish({ audio: true, video: 'VP8' });
  await peer.waitPublisherConnected();
  peer.startMedia(REALISTIC_PROFILE);
  return { peer, trackIds: tracks.map((t) => t.trackId) };
}

export async function measureCrossNode(options: CrossNodeOptions): Promise<{ idleCores: { publishingNode: number; receivingNode: number }; sameNode: PhaseResult; crossNode: PhaseResult }> {
  const nats = await NatsServer.start();
  const nodeA = await ClusterNodeProcess.start('bench-a', nats.url, 1);
  const nodeB = await ClusterNodeProcess.start('bench-b', nats.url, 1);
  const peers: MediaPeer[] = [];
  try {
    const idle = new Map<ClusterNodeProcess, number>();
    await sleep(1000);
    const [idleA, idleB] = await Promise.all([idleCores(nodeA, 5), idleCores(nodeB, 5)]);
    idle.set(nodeA, idleA).set(nodeB, idleB);
    // One node: publisher and subscribers on B.
    const local = await publish(nodeB.url, 'same', peers);
    const localSubscribers = [];
    for (let i = 0; i < options.subscribers; i++) localSubscribers.push(await join(nodeB.url, 'same', `sub-${i}`, peers));
    for (const sub of localSubscribers) for (const id of local.trackIds) await sub.waitForPackets(id, 10, 30_000);
    const sameNode = await measure(nodeB, nodeB, idle, options, false);
    local.peer.stopMedia();

    // Across nodes: publisher on A, subscribers on B (each made to consume A's tracks).
    const remote = await publish(nodeA.url, 'cross', peers);
    const producers = await nodeA.request('producers', { participantId: remote.peer.participantId });
    const remoteSubscribers = [];
    for (let i = 0; i < options.subscribers; i++) {
      const sub = await join(nodeB.url, 'cross-view', `sub-${i}`, peers);
      for (const producer of producers) await nodeB.request('consume', { participantId: sub.participantId, producer });
      remoteSubscribers.push(sub);
    }
    for (const sub of remoteSubscribers) for (const id of remote.trackIds) await sub.waitForPackets(id, 10, 30_000);
    const crossNode = await measure(nodeA, nodeB, idle, options, true);
    return { idleCores: { publishingNode: idleA, receivingNode: idleB }, sameNode, crossNode };
  } finally {
    // Nodes first: a subscriber connection closed by its client is replaced by the node (see cluster-media.test.ts).
    await Promise.all([nodeA.stop(), nodeB.stop()]);
    for (const peer of peers) peer.close();
    await nats.close();
    nodeDataChannel.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const subscribers = Number(process.argv[2] ?? 10);
  const durationS = Number(process.argv[3] ?? 20);
  const result = await measureCrossNode({ subscribers, durationS, warmupS: 3 });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
