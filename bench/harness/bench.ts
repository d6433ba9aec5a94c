import type { MediaGatewayPlacement } from '../../control/config.js';
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchReport, CapacityResult, ClusterComparison, NodeMeasurement, RawResult, RunResult, SweepResult } from '../report/types.js';
import { measureRawFloor } from './raw-floor.js';
import { runScenario } from './run-scenario.js';
import { DEFAULT_PARAMS, type ScenarioName, type ScenarioParams } from './scenarios.js';

export interface CapacityOptions {
  maxLossPercent: number;
  maxLatencyP99Ms: number;
  /** First subscriber count tried (participants for video-meeting); doubled until over the bounds. */
  start: number;
  /** Never tried above this. */
  max: number;
  probeDurationS: number;
}

export interface BenchOptions {
  scenarios: ScenarioName[];
  /** Overrides of the scenarios' default knobs. */
  params: Partial<ScenarioParams>;
  /** Subscriber counts per room, one run each (a load sweep); default: the scenario's one. */
  subscriberCounts?: number[];
  /** One run per worker count; several make a sweep. */
  workers: number[];
  /**
   * One run per node count (default [1]); counts over 1 spread the participants over that many nodes
   * joined through a nats-server. Next to a count of 1 they make a comparison: what the path between nodes adds.
   */
  nodes?: number[];
  /** Where each cluster node's media gateway runs (`shoal serve --media-gateway`); default auto. */
  mediaGateway?: MediaGatewayPlacement;
  /**
   * With node counts 1 and over 1: also run each scenario on one node with one node's share of the
   * subscribers (subscribers / N), and compare the cluster against that too (what the path costs at the
   * same load per node, apart from what spreading the load costs).
   */
  equalLoad?: boolean;
  durationS: number;
  warmupS: number;
  clientProcesses: number;
  /** Measure the node-datachannel floor first (the `raw` scenario), at these packet rates. */
  raw: boolean;
  rawRates: number[];
  /**
   * Runs of every configuration (and measurements of every raw floor point); the report keeps the
   * median, with the spread. Single runs on a shared or virtualised machine vary by 10-30 %.
   */
  repeat: number;
  capacity?: CapacityOptions;
  /** V8 CPU profiles of the SFU go here (`node --cpu-prof`), one per thread and run. */
  profileDir?: string;
  command: string;
  /** Progress, about once a second: what runs and how far it is. */
  onProgress?: (label: string, doneS: number, totalS: number, extra: string) => void;
}

/** Audio-sized and video-sized packets: a run's floor is interpolated between them by its mean packet size. */
const RAW_PACKET_SIZES = [100, 1100];

/** The libdatachannel version, asked of a child process (this one never loads the binding). */
function libdatachannelVersion(): string {
  try {
    const script = "import('node-datachannel').then((m) => { process.stdout.write(m.getLibraryVersion()); m.cleanup(); })";
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return 'unknown';
  }
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    command: options.command,
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      libdatachannel: libdatachannelVersion(),
      memoryGB: Math.round(totalmem() / 2 ** 30),
    },
    runs: [],
    sweeps: [],
    capacity: [],
  };
  if (options.raw) {
    const measured: Array<{ packetsPerSecond: number; raw: Omit<RawResult, 'bySize'> }> = [];
    for (const packetsPerSecond of options.rawRates) {
      for (const packetBytes of RAW_PACKET_SIZES) {
        const repeats: Array<Omit<RawResult, 'bySize'>> = [];
        for (let i = 0; i < options.repeat; i++) {
          options.onProgress?.(`raw floor ${packetBytes} B`, 0, 1, `${packetsPerSecond} pkt/s`);
          repeats.push(await measureRawFloor({ packetsPerSecond, durationS: Math.min(5, options.durationS), packetBytes }));
        }
        measured.push({ packetsPerSecond, raw: medianRaw(repeats) });
      }
    }
    // The headline figure: video-sized packets at the rate nearest 20 000/s.
    const largest = measured.filter((m) => m.raw.packetBytes === RAW_PACKET_SIZES.at(-1));
    const main = largest.reduce((best, m) => (Math.abs(m.packetsPerSecond - 20_000) < Math.abs(best.packetsPerSecond - 20_000) ? m : best));
    report.raw = {
      ...main.raw,
      bySize: measured.map(({ packetsPerSecond, raw }) => ({
        packetBytes: raw.packetBytes,
        packetsPerSecond,
        sendMicrosPerPacket: raw.sendMicrosPerPacket,
        receiveMicrosPerPacket: raw.receiveMicrosPerPacket,
      })),
    };
  }
  for (const scenario of options.scenarios) {
    const base = { ...DEFAULT_PARAMS[scenario], ...options.params };
    for (const subscribers of options.subscriberCounts ?? [base.subscribers]) {
      const params = { ...base, subscribers };
      const byNodes = new Map<number, RunResult[]>();
      for (const nodes of options.nodes ?? [1]) {
        const runs = await measureWorkerCounts(scenario, params, nodes, options, report.raw);
        report.runs.push(...runs);
        if (runs.length > 1) report.sweeps.push(sweep(scenario, runs));
        byNodes.set(nodes, runs);
      }
      const single = byNodes.get(1);
      if (single && byNodes.size > 1) {
        const counts = [...byNodes.keys()].filter((n) => n > 1);
        const shares = new Map<number, RunResult[]>();
        if (options.equalLoad) {
          for (const n of counts) {
            const runs = await measureWorkerCounts(scenario, { ...params, subscribers: Math.round(subscribers / n) }, 1, options, report.raw);
            report.runs.push(...runs);
            shares.set(n, runs);
          }
        }
        for (const run of single) {
          const clustered = counts.map((n) => ({
            run: byNodes.get(n)!.find((r) => r.workers === run.workers)!,
            share: shares.get(n)?.find((r) => r.workers === run.workers),
          }));
          (report.clusters ??= []).push(compareNodes(run, clustered));
        }
      }
    }
    if (options.capacity) report.capacity.push(await searchCapacity(scenario, base, options.workers[0]!, options.capacity, options));
  }
  return report;
}

/** One run per worker count of options.workers, each the median of options.repeat runs. */
async function measureWorkerCounts(scenario: ScenarioName, params: ScenarioParams, nodes: number, options: BenchOptions, raw: RawResult | undefined): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const workers of options.workers) {
    const repeats: RunResult[] = [];
    for (let i = 0; i < options.repeat; i++) repeats.push(withFloor(await measure(scenario, params, workers, nodes, options.durationS, options), raw));
    runs.push(medianRun(repeats));
  }
  return runs;
}

function measure(scenario: ScenarioName, params: ScenarioParams, workers: number, nodes: number, durationS: number, options: BenchOptions): Promise<RunResult> {
  const label = `${scenario}${nodes > 1 ? ` nodes=${nodes}` : ''} w=${workers} pubs=${params.publishers * params.rooms} subs=${params.subscribers * params.rooms}`;
  return runScenario({
    scenario,
    params,
    workers,
    nodes,
    ...(options.mediaGateway ? { mediaGateway: options.mediaGateway } : {}),
    durationS,
    warmupS: options.warmupS,
    clientProcesses: options.clientProcesses,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
    onProgress: (s, pps) => options.onProgress?.(label, s, durationS, `out ${Math.round(pps)} pkt/s`),
  });
}

/**
 * Adds the binding floor for this run's traffic and the SFU's cost over it:
 * one send per forwarded packet plus its share of a receive (packets in /
 * packets out), each at the run's own mean packet size and packet rate,
 * interpolated between the sizes and rates the raw floor was measured at.
 */
export function withFloor(run: RunResult, raw: RawResult | undefined): RunResult {
  if (!raw || run.sfu.packetsOut === 0 || run.sfu.packetsIn === 0) return run;
  const meanBytes = (mbps: number, pps: number) => (mbps * 1e6) / 8 / pps;
  const send = floorAt(raw, meanBytes(run.sfu.bitrateOutMbps, run.sfu.packetsOutPerS), run.sfu.packetsOutPerS, 'sendMicrosPerPacket');
  const receive = floorAt(raw, meanBytes(run.sfu.bitrateInMbps, run.sfu.packetsInPerS), run.sfu.packetsInPerS, 'receiveMicrosPerPacket');
  const floor = send + receive * (run.sfu.packetsIn / run.sfu.packetsOut);
  return { ...run, floorMicrosPerForwardedPacket: floor, overheadVsFloor: run.sfu.cpuMicrosPerForwardedPacket / floor };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Repeated measurements of one raw floor point: the median send and the median receive cost. */
export function medianRaw(repeats: Array<Omit<RawResult, 'bySize'>>): Omit<RawResult, 'bySize'> {
  return {
    ...repeats[0]!,
    sendMicrosPerPacket: median(repeats.map((r) => r.sendMicrosPerPacket)),
    receiveMicrosPerPacket: median(repeats.map((r) => r.receiveMicrosPerPacket)),
    lossPercent: Math.max(...repeats.map((r) => r.lossPercent)),
  };
}

/**
 * Repeated runs of one configuration: the run with the median CPU per forwarded packet (the lower
 * middle one of an even count), with the spread of all of them. One run is returned as it is.
 */
export function medianRun(repeats: RunResult[]): RunResult {
  if (repeats.length === 1) return repeats[0]!;
  const cost = (r: RunResult) => r.sfu.cpuMicrosPerForwardedPacket;
  const sorted = [...repeats].sort((a, b) => cost(a) - cost(b));
  const overheads = repeats.map((r) => r.overheadVsFloor).filter((o): o is number => o !== undefined);
  return {
    ...sorted[(sorted.length - 1) >> 1]!,
    repeats: {
      runs: repeats.length,
      microsPerPacket: [cost(sorted[0]!), cost(sorted.at(-1)!)],
      ...(overheads.length > 0 ? { overheadVsFloor: [Math.min(...overheads), Math.max(...overheads)] as [number, number] } : {}),
      lossPercentMax: Math.max(...repeats.map((r) => r.clients.lossPercent)),
    },
  };
}

type RawKey = 'sendMicrosPerPacket' | 'receiveMicrosPerPacket';

/** A raw cost at `bytes` and `rate`: linear in size, then in log(rate), clamped to what was measured. */
export function floorAt(raw: RawResult, bytes: number, rate: number, key: RawKey): number {
  if (raw.bySize.length === 0) return raw[key];
  const rates = [...new Set(raw.bySize.map((p) => p.packetsPerSecond))].sort((a, b) => a - b);
  const atRate = (r: number) => interpolate(raw.bySize.filter((p) => p.packetsPerSecond === r).map((p) => [p.packetBytes, p[key]]), bytes);
  return interpolate(rates.map((r) => [Math.log(r), atRate(r)]), Math.log(Math.max(1, rate)));
}

/** Piecewise linear through `points` ([x, y]), flat outside them. */
function interpolate(points: Array<[number, number]>, x: number): number {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  if (x <= sorted[0]![0]) return sorted[0]![1];
  for (let i = 1; i < sorted.length; i++) {
    const [x0, y0] = sorted[i - 1]!;
    const [x1, y1] = sorted[i]!;
    if (x <= x1) return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return sorted.at(-1)![1];
}

/**
 * What spreading a scenario over nodes adds to running it on one: SFU CPU per forwarded packet (all
 * nodes together, and the nodes without publishers, which receive over NATS, alone) and latency at the
 * subscribers of those nodes.
 */
export function compareNodes(single: RunResult, clustered: Array<{ run: RunResult; share?: RunResult | undefined }>): ClusterComparison {
  const busyMicros = (cores: number, idleCores: number | undefined, packetsOut: number, durationS: number) =>
    packetsOut > 0 ? ((cores - (idleCores ?? 0)) * durationS * 1e6) / packetsOut : NaN;
  const runMicros = (r: RunResult) => busyMicros(r.sfu.cpuCores, r.sfu.idleCores, r.sfu.packetsOut, r.durationS);
  const base = runMicros(single);
  return {
    scenario: single.scenario,
    workers: single.workers,
    subscribers: single.subscribers,
    single,
    clustered: clustered.map(({ run, share }) => {
      const receiving = (run.cluster?.nodes ?? []).filter((n) => n.publishers === 0 && n.packetsOut > 0);
      const sumOf = (value: (n: NodeMeasurement) => number) => receiving.reduce((total, n) => total + value(n), 0);
      const worst = (key: 'p50' | 'p99') => Math.max(...receiving.map((n) => n.latencyMs[key]));
      const receivingMicros = busyMicros(sumOf((n) => n.cpuCores), sumOf((n) => n.idleCores), sumOf((n) => n.packetsOut), run.durationS);
      return {
        run,
        addedCpu: runMicros(run) / base - 1,
        addedCpuReceivingNodes: receivingMicros / base - 1,
        addedLatencyP50Ms: receiving.length > 0 ? worst('p50') - single.clients.latencyMs.p50 : NaN,
        addedLatencyP99Ms: receiving.length > 0 ? worst('p99') - single.clients.latencyMs.p99 : NaN,
        ...(share ? { equalLoad: { run: share, addedCpu: runMicros(run) / runMicros(share) - 1, addedCpuReceivingNodes: receivingMicros / runMicros(share) - 1 } } : {}),
      };
    }),
  };
}

export function sweep(scenario: string, runs: RunResult[]): SweepResult {
  const perCpuSecond = (r: RunResult) => (r.sfu.cpuMicrosPerForwardedPacket > 0 ? 1 / r.sfu.cpuMicrosPerForwardedPacket : 0);
  const base = [...runs].sort((a, b) => a.workers - b.workers)[0]!;
  return {
    scenario,
    runs,
    efficiency: runs.map((r) => ({ workers: r.workers, efficiency: perCpuSecond(base) > 0 ? perCpuSecond(r) / perCpuSecond(base) : 0 })),
  };
}

/**
 * The largest load within the bounds: the count is doubled from `start` until
 * a probe breaks a bound (or `max` is reached), then bisected between the last
 * good and the first bad count, to within 10 %.
 */
async function searchCapacity(scenario: ScenarioName, params: ScenarioParams, workers: number, bounds: CapacityOptions, options: BenchOptions): Promise<CapacityResult> {
  const knob = scenario === 'video-meeting' ? 'publishers' : 'subscribers';
  const result: CapacityResult = {
    scenario,
    workers,
    maxLossPercent: bounds.maxLossPercent,
    maxLatencyP99Ms: bounds.maxLatencyP99Ms,
    varied: knob,
    sustained: 0,
    probes: [],
  };
  let good = 0;
  let bad: number | undefined;
  let count = bounds.start;
  for (let probe = 0; probe < 10; probe++) {
    let run: RunResult | undefined;
    try {
      run = await measure(scenario, { ...params, [knob]: count }, workers, 1, bounds.probeDurationS, options);
    } catch {
      run = undefined; // could not even connect everyone: over capacity
    }
    const ok = run !== undefined && run.clients.lossPercent <= bounds.maxLossPercent && run.clients.latencyMs.p99 <= bounds.maxLatencyP99Ms;
    result.probes.push({ count, lossPercent: run?.clients.lossPercent ?? 100, latencyP99Ms: run?.clients.latencyMs.p99 ?? Infinity, ok });
    if (ok) good = count;
    else bad = count;
    if (bad === undefined) {
      if (count >= bounds.max) break;
      count = Math.min(bounds.max, count * 2);
    } else {
      if (bad - good <= Math.max(1, Math.ceil(good * 0.1))) break;
      count = Math.floor((good + bad) / 2);
    }
  }
  result.sustained = good;
  return result;
}
