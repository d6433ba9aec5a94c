/** The benchmark report as Markdown, with its charts as SVG strings (the caller decides where the files go). */
import {
  capacityBounds, capacityCount, capacityGrid, nodesComparisonGrid, nodesGrid, rawGrid, resultsGrid, runLabel, sweepGrid, sweepSubscribers, workerGrid,
  type Grid,
} from './grids.js';
import { lineChart, type ChartSeries } from './svg.js';
import type { BenchReport, RunResult, SweepResult } from './types.js';

export interface RenderedChart {
  /** File name, e.g. "throughput-vs-subscribers-video-meeting.svg". */
  name: string;
  svg: string;
}

/** Backslash-escapes the characters that would start Markdown syntax inside a line of text. */
function mdText(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, '\\$&').replace(/\s*\n\s*/g, ' ');
}

function inlineCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\n/g, ' ')}${pad}${fence}`;
}

function mdTable(g: Grid): string {
  const row = (cells: string[]): string => `| ${cells.map((c) => mdText(c)).join(' | ')} |`;
  const rule = `|${g.align.map((a) => (a === 'right' ? ' ---: ' : ' --- ')).join('|')}|`;
  return [row(g.headers), rule, ...g.rows.map(row)].join('\n');
}

/** A relative link target that survives spaces and parentheses in file names. */
function linkTarget(path: string): string {
  return encodeURI(path).replace(/\(/g, '%28').replace(/\)/g, '%29');
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'scenario';
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Per scenario, one series per worker count, of the runs that differ only in subscribers. When one
 * scenario has runs with the same workers and subscribers but different publishers, publishers split the series too.
 * Series with fewer than 2 points are dropped.
 */
function subscriberSeries(runs: RunResult[], value: (r: RunResult) => number): ChartSeries[] {
  const publishersAt = new Map<string, Set<number>>();
  for (const r of runs) {
    const key = `${r.workers}/${r.subscribers}`;
    publishersAt.set(key, (publishersAt.get(key) ?? new Set()).add(r.publishers));
  }
  const byPublishers = [...publishersAt.values()].some((set) => set.size > 1);
  const groups = new Map<string, { workers: number; publishers: number; runs: RunResult[] }>();
  for (const r of runs) {
    const key = byPublishers ? `${r.workers}/${r.publishers}` : `${r.workers}`;
    if (!groups.has(key)) groups.set(key, { workers: r.workers, publishers: r.publishers, runs: [] });
    groups.get(key)!.runs.push(r);
  }
  return [...groups.values()]
    .sort((a, b) => a.workers - b.workers || a.publishers - b.publishers)
    .map((g) => ({
      name: plural(g.workers, 'worker') + (byPublishers ? `, ${plural(g.publishers, 'publisher')}` : ''),
      points: g.runs.map((r) => ({ x: r.subscribers, y: value(r) })).filter((p) => Number.isFinite(p.y)),
    }))
    .filter((s) => s.points.length >= 2);
}

function sweepSeries(sweep: SweepResult, value: (r: RunResult) => number, withLinear: boolean): ChartSeries[] {
  const runs = [...sweep.runs].sort((a, b) => a.workers - b.workers);
  const measured = runs.map((r) => ({ x: r.workers, y: value(r) })).filter((p) => Number.isFinite(p.y));
  if (measured.length < 2) return [];
  const series: ChartSeries[] = [{ name: 'measured', points: measured }];
  const base = measured[0];
  if (withLinear && base.x > 0) {
    series.push({ name: 'linear scaling', dashed: true, points: measured.map((p) => ({ x: p.x, y: (base.y * p.x) / base.x })) });
  }
  return series;
}

const throughput = (r: RunResult): number => r.sfu.packetsOutPerS;
const latencyP99 = (r: RunResult): number => r.clients.latencyMs.p99;

const HOW_TO_READ = `## How to read this

Each run holds a scenario (publishers sending synthetic RTP through the SFU to subscribers) steady for its duration; the numbers are for that measurement window.

- **w, pubs, subs**: SFU media workers, publishing and subscribing clients.
- **pkt/s in / out**: RTP packets per second the SFU received from publishers and forwarded to subscribers; **Mbit/s out** is the forwarded bitrate.
- **SFU cores**: CPU time (user + system, all threads) of the SFU process over wall time; 1.00 is one core fully busy.
- **µs/pkt**: SFU CPU microseconds per forwarded packet, the cost of forwarding. **vs floor** divides it by what node-datachannel alone needs to move a packet (the raw floor): 1.00x would mean the SFU adds nothing on top of the binding.
- **µs/pkt range (runs)**: with \`--repeat N\`, each row is the run with the median µs/pkt of N runs of the same configuration, and this is the lowest and highest of them; the raw floor points are medians of N measurements too.
- **loss %**: packets the subscribers expected but never received.
- **p50 / p95 / p99 ms**: one-way latency percentiles, from the send timestamp in each packet to its arrival at the subscriber. **jitter ms**: mean RFC 3550 interarrival jitter.
- **RSS MB**: SFU resident memory at the end of the run; **KB/sub**: memory per subscriber connection above the idle baseline.
- **Worker scaling**: the same scenario at several worker counts. Efficiency is forwarded packets per SFU CPU-second at that count over the same at the smallest count: 100 % means spreading the rooms over more workers costs nothing extra per packet, so capacity grows with the cores given to workers.
- **Capacity**: the largest subscriber count that stayed within the loss and latency bounds, with every probe the search made.
- **nodes**: with \`--nodes N\`, the participants were spread over N nodes joined through one nats-server: the publishers on node 1 (in a video meeting, everyone round robin), the subscribers round robin over all nodes. **Across nodes** compares the same scenario on one node: **added CPU** is the SFU CPU per forwarded packet of all nodes together over the single node's, both without the CPU the nodes use idle (**idle cores**, measured before anyone joins: a fixed cost per node, not per packet), **added CPU, receiving nodes** the same for the nodes without publishers (which get the media over NATS), **added p50/p99** the latency at those nodes' subscribers minus the single node's; with \`--equal-load\`, **at equal load** compares the same CPU figures against one node carrying one node's share of the subscribers (its **one node µs/pkt**), which separates what the path costs from what forwarding a smaller load per node costs; **NATS msgs/pkt** and **bytes/pkt** count every NATS message the nodes published (RTP batches, leases, feedback) per forwarded packet; **RTP publishes/pkt in** is RTP batches published per packet received from publishers (at most 1 whatever the number of receiving nodes: one publish per batch, not one per node). The nats-server's CPU is shown apart and not counted in the SFU's. **Nodes** tables show each node's CPU, packets, NATS traffic and its own subscribers' latency.
- **Worker load**: how forwarding was split over workers (share), how busy each worker's event loop was (util) and its event-loop delay (lag).`;

export function renderMarkdown(
  report: BenchReport,
  chartFile: (name: string) => string,
): { markdown: string; charts: RenderedChart[] } {
  const charts: RenderedChart[] = [];
  const used = new Set<string>();
  const out: string[] = [];

  /** Renders a chart unless no series has 2 points; returns the Markdown image line, or undefined. */
  const chart = (base: string, title: string, xLabel: string, yLabel: string, series: ChartSeries[]): string | undefined => {
    if (!series.some((s) => !s.dashed && s.points.length >= 2)) return undefined;
    let name = `${base}.svg`;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}.svg`;
    used.add(name);
    charts.push({ name, svg: lineChart({ title, xLabel, yLabel, series }) });
    return `![${mdText(title)}](${linkTarget(chartFile(name))})`;
  };

  const m = report.machine;
  out.push('# Shoal benchmark report');
  out.push([
    `- **Date:** ${mdText(report.startedAt)}`,
    `- **Command:** ${inlineCode(report.command)}`,
    `- **Machine:** ${m.cpus} × ${mdText(m.cpuModel)}, ${m.memoryGB} GB RAM, Node ${mdText(m.node)}, libdatachannel ${mdText(m.libdatachannel)}`,
  ].join('\n'));

  out.push('## Results');
  out.push(report.runs.length > 0 ? mdTable(resultsGrid(report.runs)) : 'No runs.');

  const scenarios = [...new Set(report.runs.map((r) => r.scenario))];
  const bySubscribers: string[] = [];
  for (const scenario of scenarios) {
    const runs = report.runs.filter((r) => r.scenario === scenario);
    const images = [
      chart(`throughput-vs-subscribers-${slug(scenario)}`, `Forwarded packets/s vs subscribers: ${scenario}`, 'subscribers', 'forwarded packets/s', subscriberSeries(runs, throughput)),
      chart(`latency-p99-vs-subscribers-${slug(scenario)}`, `Latency p99 vs subscribers: ${scenario}`, 'subscribers', 'latency p99 (ms)', subscriberSeries(runs, latencyP99)),
    ].filter((line) => line !== undefined);
    if (images.length > 0) bySubscribers.push(`### ${mdText(scenario)}`, images.join('\n\n'));
  }
  if (bySubscribers.length > 0) out.push('## Scaling with subscribers', ...bySubscribers);

  out.push('## Raw binding floor');
  out.push(report.raw
    ? `node-datachannel alone (SRTP over UDP, no SFU), CPU per packet:\n\n${mdTable(rawGrid(report.raw))}`
    : 'Not measured in this report, so the "vs floor" column is empty.');

  if (report.sweeps.length > 0) {
    out.push('## Worker scaling');
    for (const sweep of report.sweeps) {
      const subs = sweepSubscribers(sweep);
      out.push(`### ${mdText(sweep.scenario)}${subs === undefined ? '' : `, ${plural(subs, 'subscriber')}`}`);
      out.push(mdTable(sweepGrid(sweep)));
      const images = [
        chart(`throughput-vs-workers-${slug(sweep.scenario)}`, `Forwarded packets/s vs workers: ${sweep.scenario}`, 'workers', 'forwarded packets/s', sweepSeries(sweep, throughput, true)),
        chart(`latency-p99-vs-workers-${slug(sweep.scenario)}`, `Latency p99 vs workers: ${sweep.scenario}`, 'workers', 'latency p99 (ms)', sweepSeries(sweep, latencyP99, false)),
      ].filter((line) => line !== undefined);
      if (images.length > 0) out.push(images.join('\n\n'));
    }
  }

  if (report.capacity.length > 0) {
    out.push('## Capacity');
    for (const cap of report.capacity) {
      out.push(`### ${mdText(cap.scenario)}, ${plural(cap.workers, 'worker')}`);
      const none = cap.sustained === 0 ? ' (no probe met the bounds)' : '';
      out.push(`Bounds: ${capacityBounds(cap)}. **Sustained: ${capacityCount(cap, cap.sustained)}**${none}.`);
      if (cap.probes.length > 0) out.push(mdTable(capacityGrid(cap)));
    }
  }

  const clustered = report.runs.filter((r) => r.cluster);
  if (clustered.length > 0) {
    out.push('## Across nodes');
    for (const c of report.clusters ?? []) out.push(`### ${mdText(`${c.scenario} w=${c.workers} subs=${c.subscribers}`)}`, mdTable(nodesComparisonGrid(c)));
    for (const run of clustered) out.push(`### Nodes of ${mdText(runLabel(run))}`, mdTable(nodesGrid(run)));
  }

  const multiWorker = report.runs.filter((r) => r.sfu.workers.length > 1);
  if (multiWorker.length > 0) {
    out.push('## Worker load');
    for (const run of multiWorker) out.push(`### ${mdText(runLabel(run))}`, mdTable(workerGrid(run.sfu.workers)));
  }

  out.push(HOW_TO_READ);
  return { markdown: `${out.join('\n\n')}\n`, charts };
}
