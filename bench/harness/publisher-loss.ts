/**
 * Loss on the publisher leg, and how much of it reaches a subscriber (issue 9,
 * point 10). One publisher of audio and video (REALISTIC_PROFILE) and one
 * subscriber that behaves like a browser's video receiver (NACKs gaps, PLI
 * when a loss is not repaired within 250 ms) on one node (its own process,
 * one worker); the kernel drops a share of the video packets sent to the
 * node's UDP port (nftables, `numgen random`: this kernel has no sch_netem).
 * Three phases, each in a room of its own:
 *   - the publisher ignores NACKs (as before the SFU NACKed publishers, when
 *     nothing repaired this leg);
 *   - it answers them on the media SSRC (no RTX negotiated);
 *   - it answers them as RTX.
 *
 *   node dist/bench/harness/publisher-loss.js [loss %] [seconds per phase]
 *
 * It runs itself in a private network namespace with only loopback (unshare -n,
 * root), so the nftables rule never touches the machine's own; needs the
 * `nft` tool (Debian package nftables).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import nodeDataChannel from 'node-datachannel';
import { MediaPeer } from '../client/media-peer.js';
import { REALISTIC_PROFILE } from '../client/media-profile.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import type { WorkerStats } from '../../media/worker/protocol.js';
import { SfuProcess } from './sfu-process.js';

/** Packets shorter than this are left alone: audio, RTCP, STUN. Video packets and their retransmissions are longer. */
const MIN_DROPPED_BYTES = 400;
const WARMUP_MS = 3000;

type Phase = { name: string; answerNacks: boolean; rtx: boolean };

const PHASES: Phase[] = [
  { name: 'publisher ignores NACKs (before)', answerNacks: false, rtx: false },
  { name: 'NACK, resent on the media SSRC', answerNacks: true, rtx: false },
  { name: 'NACK, resent as RTX', answerNacks: true, rtx: true },
];

type Counter = 'publisherNacksSent' | 'publisherPacketsNacked' | 'publisherPacketsRecovered' | 'publisherPacketsGivenUp';
const COUNTERS: Counter[] = ['publisherNacksSent', 'publisherPacketsNacked', 'publisherPacketsRecovered', 'publisherPacketsGivenUp'];

export interface PhaseResult {
  phase: string;
  /** Video packets the publisher sent in the window and those the kernel dropped on the way to the node (retransmissions included). */
  videoPacketsSent: number;
  droppedToNode: number;
  /** At the subscriber: video packets expected and never received (from the probes' counters). */
  subscriberExpected: number;
  subscriberLost: number;
  /** Keyframe requests of the subscriber: each one a picture that broke (a loss not repaired in 250 ms). */
  subscriberPlis: number;
  subscriberNacks: number;
  /** NACK packets the publisher received, packets it sent again. */
  publisherNacksReceived: number;
  publisherResent: number;
  /** The node's worker counters over the window. */
  node: Record<Counter, number>;
}

async function workerCounters(sfu: SfuProcess): Promise<Record<Counter, number>> {
  const worker = (await sfu.stats()).workers[0] as Partial<WorkerStats> | undefined;
  return Object.fromEntries(COUNTERS.map((key) => [key, worker?.[key] ?? 0])) as Record<Counter, number>;
}

/** Packets the loss rule dropped so far. */
function droppedByRule(): number {
  const out = execFileSync('nft', ['list', 'table', 'inet', 'shoal_loss'], { encoding: 'utf8' });
  return Number(/counter packets (\d+)/.exec(out)?.[1] ?? 0);
}

function addLossRule(udpPort: number, lossPercent: number): void {
  const rule = `table inet shoal_loss { chain out { type filter hook output priority 0; udp dport ${udpPort} meta length > ${MIN_DROPPED_BYTES} numgen random mod 1000 < ${Math.round(lossPercent * 10)} counter drop; }; }`;
  execFileSync('nft', ['-f', '-'], { input: rule });
}

async function runPhase(sfu: SfuProcess, phase: Phase, index: number, lossPercent: number, durationMs: number): Promise<PhaseResult> {
  const room = `publisher-loss-${index}`;
  const publisher = await MediaPeer.join({ url: sfu.url, room, identity: 'publisher', answerNacks: phase.answerNacks });
  const subscriber = await MediaPeer.join({ url: sfu.url, room, identity: 'subscriber', feedback: true });
  try {
    const [, video] = await publisher.publish({ audio: true, video: 'VP8', rtx: phase.rtx });
    await publisher.waitPublisherConnected(20_000);
    // The node's UDP port (one for all its peers), as the publisher's connection reaches it.
    if (index === 0) addLossRule(publisher.publisher!.getSelectedCandidatePair()!.remote.port, lossPercent);
    let nacksReceived = 0;
    publisher.onPublisherRtcp((kind, packet) => {
      if (kind === 'video') nacksReceived += parseFeedback(packet).nacks.length;
    });
    publisher.startMedia(REALISTIC_PROFILE);
    const received = await subscriber.waitForPackets(video!.trackId, 50, 20_000);
    await sleep(WARMUP_MS);
    received.resetStats();
    const start = {
      node: await workerCounters(sfu),
      dropped: droppedByRule(),
      nacks: nacksReceived,
      resent: publisher.published.get('video')!.responder?.resent ?? 0,
    };
    const source = publisher.published.get('video')!.source;
    const sentBefore = source.packetsMade;
    await sleep(durationMs);
    const sent = source.packetsMade - sentBefore;
    const dropped = droppedByRule() - start.dropped;
    publisher.stopMedia();
    // Retransmissions of the last packets, and the node's next stats report (once a second).
    await sleep(1500);
    const end = await workerCounters(sfu);
    return {
      phase: phase.name,
      videoPacketsSent: sent,
      droppedToNode: dropped,
      subscriberExpected: received.stream.expected,
      subscriberLost: received.stream.expected - received.stream.received,
      subscriberPlis: received.plisSent,
      subscriberNacks: received.nacksSent,
      publisherNacksReceived: nacksReceived - start.nacks,
      publisherResent: (publisher.published.get('video')!.responder?.resent ?? 0) - start.resent,
      node: Object.fromEntries(COUNTERS.map((key) => [key, end[key] - start.node[key]])) as Record<Counter, number>,
    };
  } finally {
    publisher.close();
    subscriber.close();
  }
}

export async function runPublisherLoss(lossPercent: number, durationS: number): Promise<PhaseResult[]> {
  const sfu = await SfuProcess.start(1);
  try {
    const results: PhaseResult[] = [];
    for (const [index, phase] of PHASES.entries()) results.push(await runPhase(sfu, phase, index, lossPercent, durationS * 1000));
    return results;
  } finally {
    await sfu.stop();
    // The clients' connections close asynchronously; libdatachannel's cleanup waits for them.
    await sleep(1000);
    try {
      nodeDataChannel.cleanup();
    } catch (error) {
      process.stderr.write(`node-datachannel cleanup: ${(error as Error).message}\n`);
    }
  }
}

function report(lossPercent: number, durationS: number, results: PhaseResult[]): string {
  const lines = [
    `${lossPercent} % of the video packets to the node dropped by the kernel, ${durationS} s per phase, REALISTIC_PROFILE (2.5 Mbit/s video)`,
    '',
    '| phase | video sent | dropped to node | subscriber lost | subscriber PLIs | NACKs to publisher (packets named) | recovered | given up |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const lostPct = r.subscriberExpected > 0 ? ((100 * r.subscriberLost) / r.subscriberExpected).toFixed(2) : '-';
    lines.push(
      `| ${r.phase} | ${r.videoPacketsSent} | ${r.droppedToNode} | ${r.subscriberLost} of ${r.subscriberExpected} (${lostPct} %) | ${r.subscriberPlis} | ` +
        `${r.node.publisherNacksSent} (${r.node.publisherPacketsNacked}) | ${r.node.publisherPacketsRecovered} | ${r.node.publisherPacketsGivenUp} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const lossPercent = Number(process.argv[2] ?? 5);
  const durationS = Number(process.argv[3] ?? 20);
  if (process.env.SHOAL_IN_LOSS_NETNS !== '1') {
    // Never on the machine's own network: a namespace with only loopback, gone when this ends.
    const self = fileURLToPath(import.meta.url);
    const run = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && SHOAL_IN_LOSS_NETNS=1 exec "$0" "$@"', process.execPath, self, String(lossPercent), String(durationS)], {
      stdio: 'inherit',
    });
    process.exit(run.status ?? 1);
  }
  const results = await runPublisherLoss(lossPercent, durationS);
  process.stdout.write(`${report(lossPercent, durationS, results)}\n\n${JSON.stringify(results, null, 2)}\n`);
  // A libdatachannel whose cleanup timed out keeps the process alive.
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
