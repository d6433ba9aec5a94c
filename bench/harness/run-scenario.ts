import { setTimeout as sleep } from 'node:timers/promises';
import type { RunResult, WorkerLoad } from '../report/types.js';
import { ClientFleet } from './client-fleet.js';
import { plan, type ScenarioName, type ScenarioParams } from './scenarios.js';
import { SfuProcess, type SfuStats } from './sfu-process.js';

export interface RunOptions {
  scenario: ScenarioName;
  params: ScenarioParams;
  workers: number;
  durationS: number;
  warmupS: number;
  clientProcesses: number;
  /** Write V8 CPU profiles of the SFU (main thread and every worker) into this directory. */
  profileDir?: string;
  /** Called about once a second while measuring. */
  onProgress?: (elapsedS: number, packetsOutPerS: number) => void;
}

/** Starts a fresh SFU with `workers`, runs one scenario against it, measures, and tears both down. */
export async function runScenario(options: RunOptions): Promise<RunResult> {
  const scenario = plan(options.scenario, options.params);
  const sfu = await SfuProcess.start(options.workers, options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []);
  const fleet = ClientFleet.start(options.clientProcesses);
  try {
    await sleep(500);
    const idle = sfu.usage();
    const joined = await fleet.join(sfu.url, scenario.peers, { profile: scenario.profile, rampMs: 20, timeoutMs: 120_000 });
    if (joined.failures.length > 0) throw new Error(`${joined.failures.length} participants failed to join: ${joined.failures.slice(0, 3).join('; ')}`);
    // Connection set-up (certificates, DTLS, SCTP, renegotiations) is not what is measured: wait
    // until every receiver gets every stream, then the warm-up.
    // A stream that never arrives would count as neither received nor lost: fail the run instead.
    const receiving = await fleet.waitForStreams(scenario.expectedStreams, 60_000);
    if (receiving < scenario.expectedStreams) throw new Error(`only ${receiving} of ${scenario.expectedStreams} streams arrived within 60 s`);
    await sleep(options.warmupS * 1000);

    fleet.reset();
    const startUsage = sfu.usage();
    const startStats = await sfu.stats();
    const started = performance.now();
    const samples: SfuStats[] = [];
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
    const endStats = samples.at(-1) ?? (await sfu.stats());
    const clients = await fleet.measure(wallS);

    const cpuUserS = endUsage.userS - startUsage.userS;
    const cpuSystemS = endUsage.systemS - startUsage.systemS;
    const packetsIn = totalIn(endStats) - totalIn(startStats);
    const packetsOut = totalOut(endStats) - totalOut(startStats);
    const bytesIn = sum(endStats, 'bytesIn') - sum(startStats, 'bytesIn');
    const bytesOut = sum(endStats, 'bytesOut') - sum(startStats, 'bytesOut');
    const micros = packetsOut > 0 ? ((cpuUserS + cpuSystemS) * 1e6) / packetsOut : 0;
    return {
      scenario: options.scenario,
      workers: options.workers,
      publishers: options.params.publishers * options.params.rooms,
      subscribers: options.params.subscribers * options.params.rooms,
      subscriberConnections: scenario.subscriberConnections,
      durationS: wallS,
      sfu: {
        cpuUserS,
        cpuSystemS,
        cpuCores: (cpuUserS + cpuSystemS) / wallS,
        cpuMicrosPerForwardedPacket: micros,
        forwardedPacketsPerCore: micros > 0 ? 1e6 / micros : 0,
        packetsIn,
        packetsOut,
        packetsInPerS: packetsIn / wallS,
        packetsOutPerS: packetsOut / wallS,
        bitrateInMbps: (bytesIn * 8) / wallS / 1e6,
        bitrateOutMbps: (bytesOut * 8) / wallS / 1e6,
        rssMB: endUsage.rssMB,
        rssPerSubscriberKB: ((endUsage.rssMB - idle.rssMB) * 1024) / Math.max(1, scenario.subscriberConnections),
        workers: workerLoads(startStats, endStats, samples),
      },
      clients,
    };
  } finally {
    await fleet.stop();
    await sfu.stop();
  }
}

function sum(stats: SfuStats, key: 'packetsIn' | 'packetsOut' | 'bytesIn' | 'bytesOut'): number {
  return stats.workers.reduce((n, w) => n + (w[key] ?? 0), 0);
}

const totalIn = (stats: SfuStats) => sum(stats, 'packetsIn');
const totalOut = (stats: SfuStats) => sum(stats, 'packetsOut');

function workerLoads(start: SfuStats, end: SfuStats, samples: SfuStats[]): WorkerLoad[] {
  const allOut = totalOut(end) - totalOut(start);
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
