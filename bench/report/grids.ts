/**
 * The report's tables as plain grids of formatted cells, shared by the terminal
 * table (table.ts) and the Markdown report (markdown.ts), so both show the same
 * columns with the same number formatting.
 */
import type { CapacityResult, ClusterComparison, RawResult, RunResult, SweepResult, WorkerLoad } from './types.js';

export type Align = 'left' | 'right';

export interface Grid {
  headers: string[];
  align: Align[];
  rows: string[][];
}

/** `n` with `decimals` decimals; "-" for NaN and infinities (what the harness reports for "nothing measured"). */
export function fixed(n: number, decimals: number): string {
  if (!Number.isFinite(n)) return '-';
  const s = n.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Three significant-ish digits: 0.42, 4.37, 12.3, 245. */
export function adaptive(n: number): string {
  const abs = Math.abs(n);
  return fixed(n, abs < 10 ? 2 : abs < 100 ? 1 : 0);
}

export function integer(n: number): string {
  return fixed(n, 0);
}

/** A fraction (0 to 1) as a percentage with one decimal, without the % sign: 0.934 -> "93.4". */
export function percent(fraction: number): string {
  return fixed(fraction * 100, 1);
}

/** "1.18x", or "-" when the floor is unknown. */
function ratio(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '-' : `${n.toFixed(2)}x`;
}

/** How a run is named in section titles and progress lines: "video-meeting w=2 subs=20", "livestream nodes=3 w=1 subs=30". */
export function runLabel(run: Pick<RunResult, 'scenario' | 'workers' | 'subscribers' | 'nodes'>): string {
  return `${run.scenario}${(run.nodes ?? 1) > 1 ? ` nodes=${run.nodes}` : ''} w=${run.workers} subs=${run.subscribers}`;
}

function grid(columns: Array<[header: string, align: Align]>, rows: string[][]): Grid {
  return { headers: columns.map(([h]) => h), align: columns.map(([, a]) => a), rows };
}

export function resultsGrid(runs: RunResult[]): Grid {
  // With --repeat each row is the median run; the range of µs/pkt over the repeats follows it.
  const repeated = runs.some((r) => r.repeats);
  const range = (r: RunResult): string =>
    r.repeats ? `${adaptive(r.repeats.microsPerPacket[0])}-${adaptive(r.repeats.microsPerPacket[1])} (${r.repeats.runs})` : '-';
  const clustered = runs.some((r) => (r.nodes ?? 1) > 1);
  return grid(
    [
      ['scenario', 'left'], ...(clustered ? [['nodes', 'right'] as [string, Align]] : []), ['w', 'right'], ['pubs', 'right'], ['subs', 'right'],
      ['pkt/s in', 'right'], ['pkt/s out', 'right'], ['Mbit/s out', 'right'],
      ['SFU cores', 'right'], ['µs/pkt', 'right'], ...(repeated ? [['µs/pkt range (runs)', 'right'] as [string, Align]] : []),
      ['vs floor', 'right'], ['loss %', 'right'],
      ['p50 ms', 'right'], ['p95 ms', 'right'], ['p99 ms', 'right'], ['jitter ms', 'right'],
      ['RSS MB', 'right'], ['KB/sub', 'right'],
    ],
    runs.map((r) => [
      r.scenario, ...(clustered ? [String(r.nodes ?? 1)] : []), String(r.workers), String(r.publishers), String(r.subscribers),
      integer(r.sfu.packetsInPerS), integer(r.sfu.packetsOutPerS), adaptive(r.sfu.bitrateOutMbps),
      fixed(r.sfu.cpuCores, 2), adaptive(r.sfu.cpuMicrosPerForwardedPacket), ...(repeated ? [range(r)] : []),
      ratio(r.overheadVsFloor), fixed(r.clients.lossPercent, 2),
      adaptive(r.clients.latencyMs.p50), adaptive(r.clients.latencyMs.p95), adaptive(r.clients.latencyMs.p99),
      adaptive(r.clients.jitterMs), adaptive(r.sfu.rssMB), adaptive(r.sfu.rssPerSubscriberKB),
    ]),
  );
}

/** One row per packet size and rate measured. */
export function rawGrid(raw: RawResult): Grid {
  return grid(
    [['pkt/s', 'right'], ['bytes/pkt', 'right'], ['send µs/pkt', 'right'], ['receive µs/pkt', 'right']],
    raw.bySize.map((s) => [integer(s.packetsPerSecond), String(s.packetBytes), adaptive(s.sendMicrosPerPacket), adaptive(s.receiveMicrosPerPacket)]),
  );
}

/** One row per worker count, from the sweep's runs joined with its efficiency list. */
export function sweepGrid(sweep: SweepResult): Grid {
  const runs = [...sweep.runs].sort((a, b) => a.workers - b.workers);
  const efficiency = new Map(sweep.efficiency.map((e) => [e.workers, e.efficiency]));
  const eff = (workers: number): string => (efficiency.has(workers) ? percent(efficiency.get(workers)!) : '-');
  const rows = runs.map((r) => [
    String(r.workers), integer(r.sfu.packetsOutPerS), fixed(r.sfu.cpuCores, 2),
    adaptive(r.sfu.cpuMicrosPerForwardedPacket), adaptive(r.clients.latencyMs.p99), fixed(r.clients.lossPercent, 2), eff(r.workers),
  ]);
  for (const e of sweep.efficiency) {
    if (!runs.some((r) => r.workers === e.workers)) rows.push([String(e.workers), '-', '-', '-', '-', '-', percent(e.efficiency)]);
  }
  return grid(
    [['workers', 'right'], ['pkt/s out', 'right'], ['SFU cores', 'right'], ['µs/pkt', 'right'], ['p99 ms', 'right'], ['loss %', 'right'], ['efficiency %', 'right']],
    rows,
  );
}

/** The subscriber count shared by all of a sweep's runs, if they share one. */
export function sweepSubscribers(sweep: SweepResult): number | undefined {
  const counts = new Set(sweep.runs.map((r) => r.subscribers));
  return counts.size === 1 ? [...counts][0] : undefined;
}

export function capacityBounds(cap: CapacityResult): string {
  return `loss <= ${cap.maxLossPercent} %, latency p99 <= ${cap.maxLatencyP99Ms} ms`;
}

/** "300 subscribers", "1 publisher": a capacity count in the unit of what the search varied. */
export function capacityCount(cap: CapacityResult, count: number): string {
  return `${count} ${count === 1 ? cap.varied.slice(0, -1) : cap.varied}`;
}

export function capacityGrid(cap: CapacityResult): Grid {
  return grid(
    [['probe', 'right'], [cap.varied === 'publishers' ? 'pubs' : 'subs', 'right'], ['loss %', 'right'], ['p99 ms', 'right'], ['within bounds', 'left']],
    cap.probes.map((p, i) => [String(i + 1), String(p.count), fixed(p.lossPercent, 2), adaptive(p.latencyP99Ms), p.ok ? 'yes' : 'no']),
  );
}

export function workerGrid(workers: WorkerLoad[]): Grid {
  const nodes = workers.some((w) => w.nodeId !== undefined);
  return grid(
    [
      ...(nodes ? [['node', 'left'] as [string, Align]] : []), ['worker', 'right'], ['pkts out', 'right'], ['share %', 'right'], ['util %', 'right'],
      ['lag p50 ms', 'right'], ['lag p99 ms', 'right'], ['lag max ms', 'right'],
    ],
    [...workers].sort((a, b) => (a.nodeId ?? '').localeCompare(b.nodeId ?? '') || a.workerId - b.workerId).map((w) => [
      ...(nodes ? [w.nodeId ?? ''] : []), String(w.workerId), integer(w.packetsOut), percent(w.share), percent(w.utilization),
      adaptive(w.lagP50Ms), adaptive(w.lagP99Ms), adaptive(w.lagMaxMs),
    ]),
  );
}

/** A run across nodes: one row per node (its own CPU, packets, NATS traffic, and its subscribers' latency). */
export function nodesGrid(run: RunResult): Grid {
  const perS = (n: number) => integer(n / run.durationS);
  return grid(
    [
      ['node', 'left'], ['pubs', 'right'], ['subs', 'right'], ['cores', 'right'], ['idle cores', 'right'], ['µs/pkt', 'right'], ['pkt/s in', 'right'], ['pkt/s out', 'right'],
      ['NATS msg/s out', 'right'], ['NATS kB/s out', 'right'], ['NATS msg/s in', 'right'], ['p50 ms', 'right'], ['p99 ms', 'right'],
    ],
    (run.cluster?.nodes ?? []).map((n) => [
      n.nodeId, String(n.publishers), String(n.subscribers), fixed(n.cpuCores, 2), fixed(n.idleCores, 3), adaptive(n.cpuMicrosPerForwardedPacket),
      perS(n.packetsIn), perS(n.packetsOut), perS(n.natsMessagesOut), adaptive(n.natsBytesOut / 1000 / run.durationS), perS(n.natsMessagesIn),
      adaptive(n.latencyMs.p50), adaptive(n.latencyMs.p99),
    ]),
  );
}

/** "+12.3 %", "-4.0 %". */
function signedPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${fraction >= 0 ? '+' : ''}${percent(fraction)} %` : '-';
}

function signedMs(ms: number): string {
  return Number.isFinite(ms) ? `${ms >= 0 ? '+' : ''}${adaptive(ms)}` : '-';
}

/** One scenario on one node and across nodes: one row per node count. */
export function nodesComparisonGrid(c: ClusterComparison): Grid {
  const one = c.single;
  return grid(
    [
      ['nodes', 'right'], ['µs/pkt', 'right'], ['idle cores', 'right'], ['added CPU', 'right'], ['added CPU, receiving nodes', 'right'],
      ['at equal load: one node µs/pkt', 'right'], ['added CPU', 'right'], ['receiving nodes', 'right'],
      ['p50 ms', 'right'], ['p99 ms', 'right'], ['added p50 ms', 'right'], ['added p99 ms', 'right'],
      ['NATS msgs/pkt', 'right'], ['NATS bytes/pkt', 'right'], ['RTP publishes/pkt in', 'right'], ['nats-server cores', 'right'],
    ],
    [
      ['1', adaptive(one.sfu.cpuMicrosPerForwardedPacket), fixed(one.sfu.idleCores ?? NaN, 3), '', '', '', '', '', adaptive(one.clients.latencyMs.p50), adaptive(one.clients.latencyMs.p99), '', '', '', '', '', ''],
      ...c.clustered.map(({ run, addedCpu, addedCpuReceivingNodes, addedLatencyP50Ms, addedLatencyP99Ms, equalLoad }) => [
        String(run.nodes), adaptive(run.sfu.cpuMicrosPerForwardedPacket), fixed(run.sfu.idleCores ?? NaN, 3), signedPercent(addedCpu), signedPercent(addedCpuReceivingNodes),
        ...(equalLoad
          ? [adaptive(equalLoad.run.sfu.cpuMicrosPerForwardedPacket), signedPercent(equalLoad.addedCpu), signedPercent(equalLoad.addedCpuReceivingNodes)]
          : ['-', '-', '-']),
        adaptive(run.clients.latencyMs.p50), adaptive(run.clients.latencyMs.p99), signedMs(addedLatencyP50Ms), signedMs(addedLatencyP99Ms),
        fixed(run.cluster?.natsMessagesPerForwardedPacket ?? NaN, 3), adaptive(run.cluster?.natsBytesPerForwardedPacket ?? NaN),
        fixed(run.cluster?.rtpPublishesPerPacketIn ?? NaN, 3), fixed(run.cluster?.natsServerCores ?? NaN, 2),
      ]),
    ],
  );
}
