import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { renderMarkdown } from '../../bench/report/markdown.js';
import { lineChart, niceTicks, tickFormatter, type LineChartOptions } from '../../bench/report/svg.js';
import { renderProgress, renderTable } from '../../bench/report/table.js';
import type { BenchReport, RunResult, WorkerLoad } from '../../bench/report/types.js';
import { writeReport } from '../../bench/report/write-report.js';

interface RunSpec {
  scenario: string;
  workers: number;
  publishers: number;
  subscribers: number;
  inPerS: number;
  outPerS: number;
  cores: number;
  micros: number;
  overhead?: number;
  loss: number;
  latency: [p50: number, p95: number, p99: number];
  jitter: number;
  rssMB: number;
  perSubKB: number;
  shares?: number[];
}

/** A run with realistic, internally consistent numbers (20 s window, 1200-byte packets). */
function run(s: RunSpec): RunResult {
  const durationS = 20;
  const packetsOut = s.outPerS * durationS;
  const shares = s.shares ?? [1];
  const workers: WorkerLoad[] = shares.map((share, i) => ({
    workerId: i,
    packetsOut: Math.round(packetsOut * share),
    share,
    utilization: 0.3 + 0.1 * i,
    lagP50Ms: 0.4 + i,
    lagP99Ms: 3.1 + i,
    lagMaxMs: 12 + i,
  }));
  return {
    scenario: s.scenario,
    workers: s.workers,
    publishers: s.publishers,
    subscribers: s.subscribers,
    subscriberConnections: s.subscribers,
    durationS,
    sfu: {
      cpuUserS: s.cores * durationS * 0.8,
      cpuSystemS: s.cores * durationS * 0.2,
      cpuCores: s.cores,
      cpuMicrosPerForwardedPacket: s.micros,
      forwardedPacketsPerCore: 1e6 / s.micros,
      packetsIn: s.inPerS * durationS,
      packetsOut,
      packetsInPerS: s.inPerS,
      packetsOutPerS: s.outPerS,
      bitrateInMbps: (s.inPerS * 1200 * 8) / 1e6,
      bitrateOutMbps: (s.outPerS * 1200 * 8) / 1e6,
      rssMB: s.rssMB,
      rssPerSubscriberKB: s.perSubKB,
      workers,
    },
    clients: {
      packetsExpected: packetsOut,
      packetsReceived: Math.round(packetsOut * (1 - s.loss / 100)),
      lossPercent: s.loss,
      latencyMs: { p50: s.latency[0], p95: s.latency[1], p99: s.latency[2], max: s.latency[2] * 2 },
      jitterMs: s.jitter,
      nacksSent: 12,
      plisSent: 2,
      retransmissionsReceived: 11,
      cpuCores: 1.4,
    },
    ...(s.overhead === undefined ? {} : { overheadVsFloor: s.overhead }),
  };
}

const meeting10 = run({
  scenario: 'video-meeting', workers: 1, publishers: 10, subscribers: 10, inPerS: 1500, outPerS: 13500, cores: 0.62,
  micros: 45.9, overhead: 1.18, loss: 0.02, latency: [1.2, 2.8, 4.9], jitter: 0.41, rssMB: 142.5, perSubKB: 412,
});
const meeting20 = run({
  scenario: 'video-meeting', workers: 1, publishers: 20, subscribers: 20, inPerS: 3000, outPerS: 57000, cores: 2.71,
  micros: 47.5, overhead: 1.22, loss: 0.35, latency: [2.1, 6.3, 11.7], jitter: 0.87, rssMB: 171.2, perSubKB: 405,
});
const meeting20w2 = run({
  scenario: 'video-meeting', workers: 2, publishers: 20, subscribers: 20, inPerS: 3000, outPerS: 57000, cores: 2.93,
  micros: 51.4, overhead: 1.32, loss: 0.11, latency: [1.6, 4.4, 8.2], jitter: 0.66, rssMB: 188.9, perSubKB: 431, shares: [0.504, 0.496],
});
const meeting20w4 = run({
  scenario: 'video-meeting', workers: 4, publishers: 20, subscribers: 20, inPerS: 3000, outPerS: 57000, cores: 3.35,
  micros: 58.8, overhead: 1.51, loss: 0.08, latency: [1.4, 3.9, 7.1], jitter: 0.59, rssMB: 230.4, perSubKB: 468, shares: [0.26, 0.25, 0.25, 0.24],
});
const broadcast = run({
  scenario: 'broadcast', workers: 1, publishers: 1, subscribers: 100, inPerS: 150, outPerS: 15000, cores: 0.58,
  micros: 38.7, loss: 0, latency: [0.9, 1.9, 3.3], jitter: 0.22, rssMB: 160.3, perSubKB: 398,
});

function fullReport(): BenchReport {
  return {
    startedAt: '2025-06-02T09:14:03.512Z',
    command: 'node dist/bench/main.js --scenario video-meeting --sweep 1,2,4',
    machine: { cpus: 16, cpuModel: 'AMD Ryzen 9 7950X 16-Core Processor', node: 'v20.20.2', libdatachannel: '0.22.6', memoryGB: 64 },
    raw: {
      packets: 100000, packetBytes: 1200, sendMicrosPerPacket: 3.1, receiveMicrosPerPacket: 2.7, lossPercent: 0,
      bySize: [
        { packetBytes: 100, packetsPerSecond: 20000, sendMicrosPerPacket: 2.2, receiveMicrosPerPacket: 2.0 },
        { packetBytes: 1200, packetsPerSecond: 20000, sendMicrosPerPacket: 3.1, receiveMicrosPerPacket: 2.7 },
      ],
    },
    runs: [meeting10, meeting20, meeting20w2, meeting20w4, broadcast],
    sweeps: [{
      scenario: 'video-meeting',
      runs: [meeting20, meeting20w2, meeting20w4],
      efficiency: [{ workers: 1, efficiency: 1 }, { workers: 2, efficiency: 0.934 }, { workers: 4, efficiency: 0.812 }],
    }],
    capacity: [{
      scenario: 'broadcast', workers: 2, maxLossPercent: 1, maxLatencyP99Ms: 200, varied: 'subscribers', sustained: 300,
      probes: [
        { count: 100, lossPercent: 0, latencyP99Ms: 3.3, ok: true },
        { count: 200, lossPercent: 0.12, latencyP99Ms: 18.4, ok: true },
        { count: 400, lossPercent: 4.7, latencyP99Ms: 412, ok: false },
        { count: 300, lossPercent: 0.61, latencyP99Ms: 96.5, ok: true },
        { count: 350, lossPercent: 1.9, latencyP99Ms: 233, ok: false },
      ],
    }],
  };
}

/** The lines of the text table's section titled `title`, up to the blank line after it. */
function sectionOf(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  assert.notEqual(start, -1, `section ${title}`);
  const end = lines.indexOf('', start);
  return lines.slice(start, end === -1 ? undefined : end);
}

/** Checks that tags nest properly (a well-formedness check without an XML parser; our SVG has no comments or CDATA). */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  for (const [, close, name, , selfClose] of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    if (close) assert.equal(stack.pop(), name, `closing </${name}>`);
    else if (!selfClose) stack.push(name);
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  const stripped = xml.replace(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g, '');
  assert.doesNotMatch(stripped, /[<>]/, 'stray < or > outside tags');
  assert.doesNotMatch(stripped, /&(?!amp;|lt;|gt;|quot;|#39;)/, 'unescaped &');
}

describe('renderTable', () => {
  const text = renderTable(fullReport());

  test('one aligned row per run with all its numbers', () => {
    const results = sectionOf(text, 'Results');
    assert.equal(results.length, 2 + 1 + 5, 'title, header, rule and 5 runs');
    const widths = new Set(results.slice(1).map((l) => l.length));
    assert.equal(widths.size, 1, 'header, rule and rows have the same width');
    assert.match(results[1], /^scenario\s+w\s+pubs\s+subs\s+pkt\/s in\s+pkt\/s out\s+Mbit\/s out\s+SFU cores\s+µs\/pkt\s+vs floor\s+loss %\s+p50 ms\s+p95 ms\s+p99 ms\s+jitter ms\s+RSS MB\s+KB\/sub$/);

    const cells = (line: string): string[] => line.trim().split(/\s+/);
    assert.deepEqual(cells(results[3]), ['video-meeting', '1', '10', '10', '1500', '13500', '130', '0.62', '45.9', '1.18x', '0.02', '1.20', '2.80', '4.90', '0.41', '143', '412']);
    assert.deepEqual(cells(results[4]), ['video-meeting', '1', '20', '20', '3000', '57000', '547', '2.71', '47.5', '1.22x', '0.35', '2.10', '6.30', '11.7', '0.87', '171', '405']);
    assert.deepEqual(cells(results[5]).slice(0, 4), ['video-meeting', '2', '20', '20']);
    assert.deepEqual(cells(results[6]).slice(0, 4), ['video-meeting', '4', '20', '20']);
    assert.deepEqual(cells(results[7]), ['broadcast', '1', '1', '100', '150', '15000', '144', '0.58', '38.7', '-', '0.00', '0.90', '1.90', '3.30', '0.22', '160', '398']);
  });

  test('repeated runs add the range of µs/pkt over the repeats', () => {
    const repeated = { ...broadcast, repeats: { runs: 3, microsPerPacket: [31.2, 44.0] as [number, number], lossPercentMax: 0 } };
    const results = sectionOf(renderTable({ ...fullReport(), runs: [meeting10, repeated] }), 'Results');
    assert.match(results[1], /µs\/pkt\s+µs\/pkt range \(runs\)\s+vs floor/);
    assert.deepEqual(results[3].trim().split(/\s{2,}/).slice(8, 10), ['45.9', '-'], 'a single run has no range');
    assert.deepEqual(results[4].trim().split(/\s{2,}/).slice(8, 10), ['38.7', '31.2-44.0 (3)']);
  });

  test('raw floor, sweep and capacity sections', () => {
    assert.deepEqual(sectionOf(text, 'Raw floor').map((l) => l.trim().split(/\s{2,}/)).slice(1), [
      ['pkt/s', 'bytes/pkt', 'send µs/pkt', 'receive µs/pkt'],
      ['-----', '---------', '-----------', '--------------'],
      ['20000', '100', '2.20', '2.00'],
      ['20000', '1200', '3.10', '2.70'],
    ]);

    const sweep = sectionOf(text, 'Sweep: video-meeting, 20 subscribers');
    assert.match(sweep[1], /workers\s+pkt\/s out\s+SFU cores\s+µs\/pkt\s+p99 ms\s+loss %\s+efficiency %/);
    assert.match(sweep[3], /^\s+1\s+57000\s+2\.71\s+47\.5\s+11\.7\s+0\.35\s+100\.0$/);
    assert.match(sweep[4], /^\s+2\s+57000\s+2\.93\s+51\.4\s+8\.20\s+0\.11\s+93\.4$/);
    assert.match(sweep[5], /^\s+4\s+57000\s+3\.35\s+58\.8\s+7\.10\s+0\.08\s+81\.2$/);

    const capacity = sectionOf(text, 'Capacity: broadcast, 2 workers (loss <= 1 %, latency p99 <= 200 ms)');
    assert.equal(capacity.length, 1 + 2 + 5 + 1);
    assert.match(capacity[5], /^\s+3\s+400\s+4\.70\s+412\s+no$/);
    assert.match(capacity[6], /^\s+4\s+300\s+0\.61\s+96\.5\s+yes$/);
    assert.equal(capacity[8], '  sustained: 300 subscribers');
  });

  test('worker load only for runs with more than one worker', () => {
    assert.equal(text.match(/^Worker load: /gm)?.length, 2);
    const two = sectionOf(text, 'Worker load: video-meeting w=2 subs=20');
    assert.match(two[1], /worker\s+pkts out\s+share %\s+util %\s+lag p50 ms\s+lag p99 ms\s+lag max ms/);
    assert.match(two[3], /^\s+0\s+574560\s+50\.4\s+30\.0\s+0\.40\s+3\.10\s+12\.0$/);
    assert.match(two[4], /^\s+1\s+565440\s+49\.6\s+40\.0\s+1\.40\s+4\.10\s+13\.0$/);
    assert.equal(sectionOf(text, 'Worker load: video-meeting w=4 subs=20').length, 3 + 4);
  });

  test('an empty report', () => {
    const empty = renderTable({ ...fullReport(), raw: undefined, runs: [], sweeps: [], capacity: [] });
    assert.equal(empty, 'Results\n(no runs)\n');
  });

  test('NaN is shown as "-"', () => {
    const idle = run({
      scenario: 'idle', workers: 1, publishers: 0, subscribers: 0, inPerS: 0, outPerS: 0, cores: 0.01, micros: NaN, loss: NaN, latency: [NaN, NaN, NaN], jitter: NaN, rssMB: 95, perSubKB: NaN });
    const row = sectionOf(renderTable({ ...fullReport(), runs: [idle] }), 'Results')[3].trim().split(/\s+/);
    assert.deepEqual(row, ['idle', '1', '0', '0', '0', '0', '0.00', '0.01', '-', '-', '-', '-', '-', '-', '-', '95.0', '-']);
  });
});

describe('renderProgress', () => {
  test('the documented example', () => {
    assert.equal(
      renderProgress('video-meeting w=2 subs=20', 8, 12, 'out 5400 pkt/s'),
      '[video-meeting w=2 subs=20] ████████░░░░ 8/12 s  out 5400 pkt/s',
    );
  });

  test('start, fractions, overshoot and no extra', () => {
    assert.equal(renderProgress('warmup', 0, 30), '[warmup] ░░░░░░░░░░░░ 0/30 s');
    assert.equal(renderProgress('run', 2.54, 10), '[run] ███░░░░░░░░░ 2.5/10 s');
    assert.equal(renderProgress('run', 31, 30, ''), '[run] ████████████ 30/30 s');
    assert.equal(renderProgress('run', -1, 30), '[run] ░░░░░░░░░░░░ 0/30 s');
    assert.equal(renderProgress('run', 0, 0), '[run] ████████████ 0/0 s');
  });
});

describe('lineChart', () => {
  const options: LineChartOptions = {
    title: 'Throughput <w=1> & "friends"',
    xLabel: 'subscribers',
    yLabel: 'forwarded packets/s',
    series: [
      { name: '1 worker', points: [{ x: 20, y: 57000 }, { x: 10, y: 13500 }, { x: 40, y: 210000 }] },
      { name: '2 workers <b>', points: [{ x: 10, y: 13400 }, { x: 20, y: NaN }, { x: 40, y: 221000 }, { x: 80, y: 402000 }] },
      { name: 'linear', dashed: true, points: [{ x: 10, y: 13500 }, { x: 80, y: 108000 }] },
    ],
  };

  test('well-formed SVG with a polyline per series, one point per finite data point', () => {
    const svg = lineChart(options);
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360"'));
    assert.ok(svg.endsWith('</svg>\n'));
    assertWellFormed(svg);
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' '));
    assert.deepEqual(polylines.map((p) => p.length), [3, 3, 2]);
    for (const p of polylines.flat()) assert.match(p, /^\d+(\.\d)?,\d+(\.\d)?$/);
    const xs = polylines[0].map((p) => Number(p.split(',')[0]));
    assert.deepEqual([...xs].sort((a, b) => a - b), xs, 'points drawn in x order');
    assert.equal(svg.match(/<circle /g)?.length, 6, 'markers on data series, not on the dashed reference');
    assert.equal(svg.match(/stroke-dasharray/g)?.length, 2, 'the reference line and its legend entry');
    assert.match(svg, /1 worker<\/text>/);
  });

  test('escapes text', () => {
    const svg = lineChart(options);
    assert.ok(svg.includes('<title>Throughput &lt;w=1&gt; &amp; &quot;friends&quot;</title>'));
    assert.ok(svg.includes('2 workers &lt;b&gt;'));
    assert.ok(!svg.includes('<w=1>') && !svg.includes('<b>'));
  });

  test('deterministic and leaves its input alone', () => {
    const before = JSON.stringify(options);
    assert.equal(lineChart(options), lineChart(structuredClone(options)));
    assert.equal(JSON.stringify(options), before);
  });

  test('nice axis ticks and labels', () => {
    const y = niceTicks(0, 402000);
    assert.deepEqual(y.values, [0, 100000, 200000, 300000, 400000, 500000]);
    assert.deepEqual(y.values.map(tickFormatter(y)), ['0', '100k', '200k', '300k', '400k', '500k']);
    assert.deepEqual(niceTicks(10, 80).values, [0, 20, 40, 60, 80]);
    assert.deepEqual(niceTicks(1, 4).values, [1, 2, 3, 4], 'worker counts get integer ticks');
    const ms = niceTicks(0, 4.9);
    assert.deepEqual(ms.values.map(tickFormatter(ms)), ['0', '1', '2', '3', '4', '5']);
    const small = niceTicks(0, 0.9);
    assert.deepEqual(small.values.map(tickFormatter(small)), ['0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    const big = niceTicks(0, 2.3e6);
    assert.deepEqual(big.values.map(tickFormatter(big)), ['0', '0.5M', '1.0M', '1.5M', '2.0M', '2.5M']);
    assert.deepEqual(niceTicks(0, 0).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(20, 20).values, [18, 19, 20, 21, 22]);
  });

  test('a chart with no points still renders', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'empty', points: [] }] });
    assertWellFormed(svg);
    assert.doesNotMatch(svg, /<polyline/);
  });
});

const imageTargets = (markdown: string): string[] => [...markdown.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]);

describe('renderMarkdown', () => {
  const chartFile = (name: string): string => `charts/${name}`;

  test('references exactly the charts it returns', () => {
    const { markdown, charts } = renderMarkdown(fullReport(), chartFile);
    assert.deepEqual(charts.map((c) => c.name), [
      'throughput-vs-subscribers-video-meeting.svg',
      'latency-p99-vs-subscribers-video-meeting.svg',
      'throughput-vs-workers-video-meeting.svg',
      'latency-p99-vs-workers-video-meeting.svg',
    ]);
    assert.deepEqual(imageTargets(markdown), charts.map((c) => chartFile(c.name)));
    for (const c of charts) {
      assert.ok(c.svg.startsWith('<svg'));
      assertWellFormed(c.svg);
    }
    // Subscriber charts: the 1-worker series (10 and 20 subscribers); the 2- and 4-worker runs are single points.
    assert.equal([...charts[0].svg.matchAll(/<polyline /g)].length, 1);
    assert.match(charts[0].svg, /1 worker</);
    // The workers chart: measured and the linear-scaling reference, 3 points each.
    assert.deepEqual([...charts[2].svg.matchAll(/points="([^"]*)"/g)].map((m) => m[1].split(' ').length), [3, 3]);
    assert.match(markdown, /!\[Forwarded packets\/s vs subscribers: video-meeting\]\(charts\/throughput-vs-subscribers-video-meeting\.svg\)/);
  });

  test('the sections', () => {
    const { markdown } = renderMarkdown(fullReport(), chartFile);
    assert.ok(markdown.startsWith('# Shoal benchmark report\n'));
    assert.match(markdown, /\*\*Date:\*\* 2025-06-02T09:14:03\.512Z/);
    assert.match(markdown, /\*\*Command:\*\* `node dist\/bench\/main\.js --scenario video-meeting --sweep 1,2,4`/);
    assert.match(markdown, /16 × AMD Ryzen 9 7950X 16-Core Processor, 64 GB RAM, Node v20\.20\.2, libdatachannel 0\.22\.6/);
    assert.ok(markdown.includes('| scenario | w | pubs | subs | pkt/s in | pkt/s out | Mbit/s out | SFU cores | µs/pkt | vs floor | loss % | p50 ms | p95 ms | p99 ms | jitter ms | RSS MB | KB/sub |'));
    assert.ok(markdown.includes('| --- | ---: | ---: |'));
    assert.ok(markdown.includes('| video-meeting | 1 | 10 | 10 | 1500 | 13500 | 130 | 0.62 | 45.9 | 1.18x | 0.02 | 1.20 | 2.80 | 4.90 | 0.41 | 143 | 412 |'));
    assert.ok(markdown.includes('| broadcast | 1 | 1 | 100 | 150 | 15000 | 144 | 0.58 | 38.7 | - | 0.00 | 0.90 | 1.90 | 3.30 | 0.22 | 160 | 398 |'));
    assert.ok(markdown.includes('| 20000 | 1200 | 3.10 | 2.70 |'));
    assert.ok(markdown.includes('### video-meeting, 20 subscribers'));
    assert.ok(markdown.includes('| 2 | 57000 | 2.93 | 51.4 | 8.20 | 0.11 | 93.4 |'));
    assert.ok(markdown.includes('Bounds: loss <= 1 %, latency p99 <= 200 ms. **Sustained: 300 subscribers**.'));
    assert.ok(markdown.includes('| 5 | 350 | 1.90 | 233 | no |'));
    assert.ok(markdown.includes('### video-meeting w=2 subs=20'));
    assert.match(markdown, /## How to read this\n/);
    for (const heading of ['## Results', '## Scaling with subscribers', '## Raw binding floor', '## Worker scaling', '## Capacity', '## Worker load']) {
      assert.ok(markdown.includes(`\n${heading}\n`), heading);
    }
  });

  test('skips charts with fewer than 2 points', () => {
    const report: BenchReport = {
      ...fullReport(),
      raw: undefined,
      runs: [meeting10, meeting20w2, broadcast],
      sweeps: [{ scenario: 'video-meeting', runs: [meeting20w2], efficiency: [{ workers: 2, efficiency: 1 }] }],
      capacity: [],
    };
    const { markdown, charts } = renderMarkdown(report, chartFile);
    assert.deepEqual(charts, []);
    assert.deepEqual(imageTargets(markdown), []);
    assert.doesNotMatch(markdown, /## Scaling with subscribers/);
    assert.match(markdown, /Not measured in this report/);
  });

  test('unique chart names, escaped text and link targets', () => {
    const odd = (r: RunResult): RunResult => ({ ...r, scenario: 'a|b <c>' });
    const report: BenchReport = {
      ...fullReport(),
      command: 'bench --label `x`',
      runs: [odd(meeting10), odd(meeting20)],
      sweeps: [
        { scenario: 'video-meeting', runs: [meeting20, meeting20w2], efficiency: [] },
        { scenario: 'video-meeting', runs: [meeting10, meeting20w2], efficiency: [] },
      ],
    };
    const { markdown, charts } = renderMarkdown(report, (name) => `my report (1)/${name}`);
    assert.deepEqual(charts.map((c) => c.name), [
      'throughput-vs-subscribers-a-b-c.svg',
      'latency-p99-vs-subscribers-a-b-c.svg',
      'throughput-vs-workers-video-meeting.svg',
      'latency-p99-vs-workers-video-meeting.svg',
      'throughput-vs-workers-video-meeting-2.svg',
      'latency-p99-vs-workers-video-meeting-2.svg',
    ]);
    assert.deepEqual(imageTargets(markdown), charts.map((c) => `my%20report%20%281%29/${c.name}`));
    assert.ok(markdown.includes('| a\\|b \\<c\\> | 1 |'));
    assert.ok(markdown.includes('### a\\|b \\<c\\>'));
    assert.ok(markdown.includes('**Command:** `` bench --label `x` ``'));
    assert.ok(charts[0].svg.includes('a|b &lt;c&gt;'));
  });

  test('deterministic', () => {
    assert.deepEqual(renderMarkdown(fullReport(), chartFile), renderMarkdown(fullReport(), chartFile));
  });
});

describe('writeReport', () => {
  test('writes the JSON, the Markdown and its charts into a new directory', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'shoal-bench-report-'));
    try {
      const dir = join(tmp, 'results', '2025-06-02');
      const report = fullReport();
      const written = writeReport(report, dir, 'video-meeting');
      assert.equal(written.json, join(dir, 'video-meeting.json'));
      assert.equal(written.markdown, join(dir, 'video-meeting.md'));
      assert.equal(written.charts.length, 4);

      assert.deepEqual(JSON.parse(readFileSync(written.json, 'utf8')), report);
      assert.ok(readFileSync(written.json, 'utf8').startsWith('{\n  "startedAt"'));
      const markdown = readFileSync(written.markdown, 'utf8');
      const targets = imageTargets(markdown);
      assert.deepEqual(targets, written.charts.map((p) => basename(p)));
      for (const target of targets) {
        assert.ok(target.startsWith('video-meeting-'));
        assert.ok(readFileSync(join(dir, target), 'utf8').startsWith('<svg'));
      }
      assert.deepEqual(readdirSync(dir).sort(), [...targets, 'video-meeting.json', 'video-meeting.md'].sort());
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('rejects a stem that is a path', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'shoal-bench-report-'));
    try {
      assert.throws(() => writeReport(fullReport(), tmp, '../escape'), /plain file name/);
      assert.equal(existsSync(join(tmp, '..', 'escape.json')), false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
