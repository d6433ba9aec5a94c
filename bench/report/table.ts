/** The benchmark report as fixed-width text for a terminal (no colours), and the one-line progress display. */
import {
  capacityBounds, capacityCount, capacityGrid, nodesComparisonGrid, nodesGrid, rawGrid, resultsGrid, runLabel, sweepGrid, sweepSubscribers, workerGrid,
  type Grid,
} from './grids.js';
import type { BenchReport } from './types.js';

/** Columns padded to their widest cell, two spaces apart; text left-aligned, numbers right-aligned. */
export function layoutGrid(g: Grid, indent = ''): string {
  const widths = g.headers.map((h, c) => Math.max(h.length, ...g.rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]): string =>
    indent + cells.map((cell, c) => (g.align[c] === 'right' ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(g.headers), indent + widths.map((w) => '-'.repeat(w)).join('  '), ...g.rows.map(line)].join('\n');
}

function section(title: string, body: string): string {
  return `${title}\n${body}`;
}

export function renderTable(report: BenchReport): string {
  const out: string[] = [];
  out.push(section('Results', report.runs.length > 0 ? layoutGrid(resultsGrid(report.runs)) : '(no runs)'));

  if (report.raw) {
    out.push(section('Raw floor (node-datachannel alone, no SFU)', layoutGrid(rawGrid(report.raw), '  ')));
  }
  for (const sweep of report.sweeps) {
    const subs = sweepSubscribers(sweep);
    out.push(section(`Sweep: ${sweep.scenario}${subs === undefined ? '' : `, ${subs} subscribers`}`, layoutGrid(sweepGrid(sweep), '  ')));
  }
  for (const cap of report.capacity) {
    const title = `Capacity: ${cap.scenario}, ${cap.workers} worker${cap.workers === 1 ? '' : 's'} (${capacityBounds(cap)})`;
    const result = `  sustained: ${capacityCount(cap, cap.sustained)}${cap.sustained === 0 ? ' (no probe met the bounds)' : ''}`;
    out.push(section(title, `${layoutGrid(capacityGrid(cap), '  ')}\n${result}`));
  }
  for (const c of report.clusters ?? []) {
    out.push(section(`Across nodes: ${c.scenario} w=${c.workers} subs=${c.subscribers}`, layoutGrid(nodesComparisonGrid(c), '  ')));
  }
  for (const run of report.runs) {
    if (run.cluster) out.push(section(`Nodes: ${runLabel(run)}`, layoutGrid(nodesGrid(run), '  ')));
  }
  for (const run of report.runs) {
    if (run.sfu.workers.length > 1) out.push(section(`Worker load: ${runLabel(run)}`, layoutGrid(workerGrid(run.sfu.workers), '  ')));
  }
  return `${out.join('\n\n')}\n`;
}

const BAR_WIDTH = 12;

function seconds(s: number): string {
  return String(Math.round(s * 10) / 10);
}

/**
 * Shows progress on `stream`: one line rewritten in place on a terminal; otherwise (a log file) a line
 * at the start and at the end of each step. `end()` finishes the terminal line.
 */
export function progressDisplay(stream: NodeJS.WriteStream): { show: (label: string, doneS: number, totalS: number, extra?: string) => void; end: () => void } {
  return {
    show: (label, doneS, totalS, extra) => {
      const line = renderProgress(label, doneS, totalS, extra);
      if (stream.isTTY) stream.write(`\r${line}\x1b[K`);
      else if (doneS === totalS || doneS === 0) stream.write(`${line}\n`);
    },
    end: () => {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

/**
 * One progress line, e.g. "[video-meeting w=2 subs=20] ████████░░░░ 8/12 s  out 5400 pkt/s".
 * Carries no "\r" or line clearing: the caller writes it (over a shorter previous line, clear to the end first).
 */
export function renderProgress(label: string, doneS: number, totalS: number, extra?: string): string {
  const total = Number.isFinite(totalS) && totalS > 0 ? totalS : 0;
  const done = Number.isFinite(doneS) ? Math.min(Math.max(doneS, 0), total) : 0;
  const filled = total === 0 ? BAR_WIDTH : Math.floor((done / total) * BAR_WIDTH + 1e-9);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  return `[${label}] ${bar} ${seconds(done)}/${seconds(total)} s${extra ? `  ${extra}` : ''}`;
}
