import type { MediaGatewayPlacement } from '../../control/config.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayStats } from '../../media/gateway/protocol.js';
import type { NodeMeasurement, RunResult, WorkerLoad } from '../report/types.js';
import { ClientFleet } from './client-fleet.js';
import { NodesUnderTest } from './nodes-under-test.js';
import { plan, type ScenarioName, type ScenarioParams } from './scenarios.js';
import type { SfuStats } from './sfu-process.js';

export interface RunOptions {
  scenario: ScenarioName;
  params: ScenarioParams;
  workers: number;
  /** Nodes the participants are spread over (see `plan`); 1 (the default): one node alone, no NATS. */
  nodes?: number;
  /** Where each cluster node's media gateway runs (`--media-gateway`); default auto. */
  mediaGateway?: MediaGatewayPlacement;
  durationS: number;
  warmupS: number;
  clientProcesses: number;
  /** Write V8 CPU profiles of the SFU (main thread and every worker) into this directory. */
  profileDir?: string;
  /** Called about once a second while measuring. */
  onProgress?: (elapsedS: number, packetsOutPerS: number) => void;
}

/** Starts fresh SFU nodes, runs one scenario against them, measures, and tears everything down. */
export async function runScenario(options: RunOptions): Promise<RunResult> {
  const nodeCount = options.nodes ?? 1;
  const scenario = plan(options.scenario, options.params, nodeCount);
  const sfu = await NodesUnderTest.start(nodeCount, options.workers, options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [], options.mediaGateway);
  const fleet = ClientFleet.start(options.clientProcesses);
  try {
    await sleep(500);
    // What the nodes use with nothing to forward (timers, stats; in a cluster heartbeats, leases, NATS pings).
    const idle = sfu.usage();
    await sleep(IDLE_WINDOW_MS);
    const idleCores = sfu.usage().map((end, i) => (end.userS + end.systemS - idle[i]!.userS - idle[i]!.systemS) / (IDLE_WINDOW_MS / 1000));
    const joined = await fleet.join(sfu.urls, scenario.peers, { profile: scenario.profile, rampMs: 20, timeoutMs: 120_000 });
    if (joined.failures.length > 0) throw new Error(`${joined.failures.length} participants failed to join: ${joined.failures.slice(0, 3).join('; ')}`);
    // Connection set-up (certificates, DTLS, SCTP, renegotiations) is not what is measured: wait
    // until every receiver gets every stream, then the warm-up.
    // A stream that never arrives would count as neither received nor lost: fail the run instead.
    const receiving = await fleet.waitForStreams(scenario.expectedStreams, 60_000);
    if (receiving < scenario.expectedStreams) throw new Error(`only ${receiving} of ${scenario.expectedStreams} streams arrived within 60 s`);
    await sleep(options.warmupS * 1000);

    fleet.reset();
    const startUsage = sfu.usage();
    const startNats = sfu.natsUsage();
    const startStats = await sfu.stats();
    const started = performance.now();
    const samples: SfuStats[][] = [];
    let previousOut = totalOut(startStats);
    options.onProgress?.(0, 0);
    for (let second = 1; second <= options.durationS; second++) {
      await sleep(started + second * 1000 - performance.now());
      const stats = await sfu.stats();
      samples.push(stats);
      const out = totalOut(stats);
      options.onProgress?.(second, out - previousOut);
      previousOut = out;
    }
    const wallS = (performance.now() - started) / 1000;
    const endUsage = sfu.usage();
    const endNats = sfu.natsUsage();
    const endStats = samples.at(-1) ?? (await sfu.stats());
    const { clients, latencyByNode } = await fleet.measure(wallS);

    const cpuOf = (node: number) => ({
      userS: endUsage[node]!.userS - startUsage[node]!.userS,
      systemS: endUsage[node]!.systemS - startUsage[node]!.systemS,
    });
    const cpuUserS = sumOver(sfu.nodes, (_, i) => cpuOf(i).userS);
    const cpuSystemS = sumOver(sfu.nodes, (_, i) => cpuOf(i).systemS);
    const packetsIn = totalIn(endStats) - totalIn(startStats);
    const packetsOut = totalOut(endStats) - totalOut(startStats);
    const bytesIn = sum(endStats, 'bytesIn') - sum(startStats, 'bytesIn');
    const bytesOut = sum(endStats, 'bytesOut') - sum(startStats, 'bytesOut');
    const micros = packetsOut > 0 ? ((cpuUserS + cpuSystemS) * 1e6) / packetsOut : 0;
    const rssMB = sumOver(endUsage, (u) => u.rssMB);
    const idleRssMB = sumOver(idle, (u) => u.rssMB);
    const result: RunResult = {
      scenario: options.scenario,
      workers: options.workers,
      nodes: nodeCount,
      publishers: options.params.publishers * options.params.rooms,
      subscribers: options.params.subscribers * options.params.rooms,
      subscriberConnections: scenario.subscriberConnections,
      durationS: wallS,
      sfu: {
        cpuUserS,
        cpuSystemS,
        cpuCores: (cpuUserS + cpuSystemS) / wallS,
        idleCores: sumOver(idleCores, (c) => c),
        cpuMicrosPerForwardedPacket: micros,
        forwardedPacketsPerCore: micros > 0 ? 1e6 / micros : 0,
        packetsIn,
        packetsOut,
        packetsInPerS: packetsIn / wallS,
        packetsOutPerS: packetsOut / wallS,
        bitrateInMbps: (bytesIn * 8) / wallS / 1e6,
        bitrateOutMbps: (bytesOut * 8) / wallS / 1e6,
        rssMB,
        rssPerSubscriberKB: ((rssMB - idleRssMB) * 1024) / Math.max(1, scenario.subscriberConnections),
        workers: endStats.flatMap((end, i) =>
          workerLoads(startStats[i]!, end, samples.map((sample) => sample[i]!)).map((load) => (nodeCount > 1 ? { ...load, nodeId: nodeName(i) } : load)),
        ),
      },
      clients,
    };
    if (nodeCount > 1) {
      const nodes = sfu.nodes.map((_, i): NodeMeasurement => {
        const gateway = (key: keyof GatewayCounters) => (endStats[i]!.gateway?.[key] ?? 0) - (startStats[i]!.gateway?.[key] ?? 0);
        const cpu = cpuOf(i);
        const out = totalOut([endStats[i]!]) - totalOut([startStats[i]!]);
        return {
          nodeId: nodeName(i),
          publishers: scenario.peers.filter((p) => (p.node ?? 0) === i && p.publish).length,
          subscribers: scenario.peers.filter((p) => (p.node ?? 0) === i && !p.publish).length,
          cpuCores: (cpu.userS + cpu.systemS) / wallS,
          idleCores: idleCores[i]!,
          cpuMicrosPerForwardedPacket: out > 0 ? ((cpu.userS + cpu.systemS) * 1e6) / out : 0,
          packetsIn: totalIn([endStats[i]!]) - totalIn([startStats[i]!]),
          packetsOut: out,
          natsMessagesOut: gateway('messagesOut'),
          natsBytesOut: gateway('bytesOut'),
          natsMessagesIn: gateway('messagesIn'),
          natsBytesIn: gateway('bytesIn'),
          rtpMessagesOut: gateway('rtpMessagesOut'),
          rtpPacketsOut: gateway('rtpPacketsOut'),
          latencyMs: latencyByNode[i] ?? { p50: 0, p95: 0, p99: 0, max: 0 },
        };
      });
      const natsCpuS = startNats && endNats ? endNats.userS + endNats.systemS - startNats.userS - startNats.systemS : 0;
      result.cluster = {
        nodes,
        natsServerCores: natsCpuS / wallS,
        natsMessagesPerForwardedPacket: packetsOut > 0 ? sumOver(nodes, (n) => n.natsMessagesOut) / packetsOut : 0,
        natsBytesPerForwardedPacket: packetsOut > 0 ? sumOver(nodes, (n) => n.natsBytesOut) / packetsOut : 0,
        rtpPublishesPerPacketIn: packetsIn > 0 ? sumOver(nodes, (n) => n.rtpMessagesOut) / packetsIn : 0,
      };
    }
    return result;
  } finally {
    await fleet.stop();
    await sfu.stop();
  }
}

/** How long the nodes' CPU use is measured before anyone joins, ms. */
const IDLE_WINDOW_MS = 2000;

type GatewayCounters = Pick<GatewayStats, 'messagesOut' | 'bytesOut' | 'messagesIn' | 'bytesIn' | 'rtpMessagesOut' | 'rtpPacketsOut'>;

/** The node ids NodesUnderTest gives. */
const nodeName = (index: number) => `bench-${index + 1}`;

function sumOver<T>(items: readonly T[], value: (item: T, index: number) => number): number {
  return items.reduce((n, item, i) => n + value(item, i), 0);
}

/** A worker counter summed over every worker of every node. */
function sum(stats: SfuStats[], key: 'packetsIn' | 'packetsOut' | 'bytesIn' | 'bytesOut'): number {
  return sumOver(stats, (node) => sumOver(node.workers, (w) => w[key] ?? 0));
}

const totalIn = (stats: SfuStats[]) => sum(stats, 'packetsIn');
const totalOut = (stats: SfuStats[]) => sum(stats, 'packetsOut');

function workerLoads(start: SfuStats, end: SfuStats, samples: SfuStats[]): WorkerLoad[] {
  const allOut = totalOut([end]) - totalOut([start]);
  return end.workers.map((w) => {
    const before = start.workers.find((s) => s.id === w.id);
    const out = (w.packetsOut ?? 0) - (before?.packetsOut ?? 0);
    const mine = samples.map((s) => s.workers.find((x) => x.id === w.id)).filter((x) => x !== undefined);
    const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
    return {
      workerId: w.id,
      packetsOut: out,
      share: allOut > 0 ? out / allOut : 0,
      utilization: mean(mine.map((x) => x.eventLoopUtilization ?? 0)),
      lagP50Ms: Math.max(0, ...mine.map((x) => x.eventLoopLagP50Ms ?? 0)),
      lagP99Ms: Math.max(0, ...mine.map((x) => x.eventLoopLagP99Ms ?? 0)),
      lagMaxMs: Math.max(0, ...mine.map((x) => x.eventLoopLagMaxMs ?? 0)),
    };
  });
}
