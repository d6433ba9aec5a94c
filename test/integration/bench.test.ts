import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { LoadtestResult } from '../../bench/harness/loadtest.js';
import type { BenchReport } from '../../bench/report/types.js';
import { startSfu } from '../support/sfu.js';

const CLI = 'dist/control/cli/main.js';

/** Runs the CLI as its own process; resolves with exit code and output. */
async function shoal(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; tookMs: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, tookMs: Date.now() - started };
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Running and not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('benchmark and load-test commands (smoke)', { timeout: 240_000 }, () => {
  test('every bench and loadtest option has a --help line naming its environment variable', () => {
    for (const command of ['bench', 'loadtest']) {
      const help = spawnSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' }).stdout;
      const optionLines = help.split('\n').filter((line) => /^\s+--[a-z]/.test(line));
      assert.ok(optionLines.length >= 8, `${command} lists its options`);
      for (const line of optionLines) assert.match(line, /\(env SHOAL_[A-Z_]+\)/, line.trim());
    }
  });

  test('out-of-range counts are refused with a usage error naming the option', () => {
    const cases: Array<[option: string, args: string[]]> = [
      ['--repeat', ['bench', '--repeat', '0']],
      ['--duration', ['bench', '--duration', '0']],
      ['--rooms', ['bench', '--rooms=-1']],
      ['--client-processes', ['loadtest', '--url', 'ws://127.0.0.1:1/ws', '--client-processes', '0']],
    ];
    for (const [option, args] of cases) {
      const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(result.status, 1, args.join(' '));
      assert.match(result.stdout + result.stderr, new RegExp(`Invalid value for ${option}:`), args.join(' '));
    }
  });

  test('shoal loadtest against an address where nothing listens fails at once with the reason', () => {
    const started = Date.now();
    const result = spawnSync(process.execPath, [CLI, 'loadtest', '--url', 'ws://127.0.0.1:1/ws', '--duration', '30'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot reach ws:\/\/127\.0\.0\.1:1\/ws: connect ECONNREFUSED/);
    assert.ok(Date.now() - started < 10_000, 'without ramping up or measuring');
  });

  test('shoal bench: raw floor and a two-worker sweep of a tiny livestream, with reports written', async () => {
    const out = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
    const args = ['bench', 'livestream', '--subscribers', '2', '--duration', '2', '--warmup', '1', '--workers', '1,2', '--raw-rates', '20000', '--client-processes', '1', '--out', out];
    const result = await shoal(args, 90_000);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /livestream/);
    assert.match(result.stdout, /Raw floor/);
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'))!;
    assert.ok(files.some((f) => f.endsWith('.md')));
    assert.ok(files.some((f) => f.endsWith('.svg')), 'a sweep makes charts');
    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchReport;
    assert.ok(report.raw && report.raw.sendMicrosPerPacket > 0 && report.raw.receiveMicrosPerPacket > 0);
    assert.deepEqual(report.runs.map((r) => r.workers), [1, 2]);
    for (const run of report.runs) {
      assert.ok(run.sfu.packetsOut > 0 && run.sfu.cpuMicrosPerForwardedPacket > 0);
      assert.ok(run.clients.packetsReceived > 0);
      assert.ok(run.clients.lossPercent < 5, `loss ${run.clients.lossPercent} %`);
      assert.ok(run.overheadVsFloor! > 0);
      assert.equal(run.sfu.workers.length, run.workers);
    }
    assert.equal(report.sweeps.length, 1);
    assert.deepEqual(report.sweeps[0]!.efficiency.map((e) => e.workers), [1, 2]);
  });

  test('shoal bench --repeat: the median of repeated runs, with their range', async () => {
    const out = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
    const args = ['bench', 'audio-room', '--publishers', '1', '--subscribers', '1', '--duration', '1', '--warmup', '1', '--repeat', '2', '--no-raw', '--client-processes', '1', '--out', out];
    const result = await shoal(args, 60_000);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /µs\/pkt range \(runs\)/);
    const report = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8')) as BenchReport;
    assert.equal(report.runs.length, 1);
    const [low, high] = report.runs[0]!.repeats!.microsPerPacket;
    const median = report.runs[0]!.sfu.cpuMicrosPerForwardedPacket;
    assert.equal(report.runs[0]!.repeats!.runs, 2);
    // CPU time comes in 10 ms ticks: a one-second tiny run may well measure 0.
    assert.ok(Number.isFinite(high) && low >= 0 && low <= median && median <= high, `${low} <= ${median} <= ${high}`);
  });

  test('shoal bench --nodes 1,3: the scenario on one node beside three joined through NATS, with each node and the NATS traffic', async () => {
    const out = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
    const args = ['bench', 'livestream', '--subscribers', '3', '--nodes', '1,3', '--duration', '2', '--warmup', '1', '--no-raw', '--client-processes', '1', '--out', out];
    const result = await shoal(args, 100_000);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Across nodes: livestream/);
    const report = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8')) as BenchReport;
    assert.deepEqual(report.runs.map((r) => r.nodes), [1, 3]);
    assert.equal(report.runs[0]!.cluster, undefined, 'one node runs alone, without NATS');
    const cluster = report.runs[1]!.cluster!;
    // The publisher on the first node, one subscriber on each node.
    assert.deepEqual(cluster.nodes.map((n) => [n.nodeId, n.publishers, n.subscribers]), [['bench-1', 1, 1], ['bench-2', 0, 1], ['bench-3', 0, 1]]);
    for (const node of cluster.nodes) {
      assert.ok(node.packetsOut > 0, `${node.nodeId} forwarded to its subscriber`);
      assert.ok(node.latencyMs.p50 > 0, `${node.nodeId}'s subscriber measured latency`);
    }
    const [publishing, ...receiving] = cluster.nodes;
    for (const node of receiving) {
      assert.equal(node.packetsIn, 0);
      assert.ok(node.natsMessagesIn > 0 && node.rtpMessagesOut === 0, `${node.nodeId} pulls the tracks over NATS and publishes none`);
    }
    // Two nodes want every track, and every packet crosses NATS once: one publish per batch, not one per node.
    const published = publishing!.rtpPacketsOut / publishing!.packetsIn;
    assert.ok(published > 0.8 && published < 1.2, `packets published per packet received: ${published}`);
    assert.ok(cluster.rtpPublishesPerPacketIn > 0 && cluster.rtpPublishesPerPacketIn <= 1);
    assert.ok(cluster.natsMessagesPerForwardedPacket > 0 && cluster.natsBytesPerForwardedPacket > 0);
    const comparison = report.clusters?.[0];
    assert.ok(comparison, 'a comparison of the two');
    assert.equal(comparison!.clustered.length, 1);
    assert.ok(Number.isFinite(comparison!.clustered[0]!.addedCpu) && Number.isFinite(comparison!.clustered[0]!.addedLatencyP99Ms));
    const markdown = readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.md'))!), 'utf8');
    assert.match(markdown, /## Across nodes/);
  });

  test('an interrupted shoal bench stops the node it started', async () => {
    const out = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
    const args = ['bench', 'livestream', '--subscribers', '1', '--duration', '60', '--warmup', '1', '--no-raw', '--client-processes', '1', '--out', out];
    const bench = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    bench.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(bench, 'exit');
    // The first progress line of the run shows once the node is up and the clients joined.
    while (!stderr.includes('[livestream')) {
      assert.equal(bench.exitCode, null, stderr);
      await sleep(100);
    }
    const node = childrenOf(bench.pid!).find((pid) => commandLine(pid).includes('serve'));
    assert.ok(node, 'the node under test runs as a child process');
    bench.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 143, stderr);
    assert.match(stderr, /SIGTERM: benchmark stopped/);
    for (let i = 0; i < 150 && isRunning(node); i++) await sleep(100);
    assert.equal(isRunning(node), false, 'the node under test was stopped');
  });

  test('shoal loadtest drives a running node through the public protocol and stops by itself', async () => {
    const sfu = await startSfu();
    try {
      const out = mkdtempSync(join(tmpdir(), 'shoal-loadtest-'));
      const args = ['loadtest', '--url', sfu.url, '--subscribers', '2', '--duration', '2', '--ramp-up', '1', '--client-processes', '1', '--out', out];
      const result = await shoal(args, 60_000);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.tookMs < 30_000, `took ${result.tookMs} ms`);
      assert.match(result.stdout, /loss %/);
      const file = readdirSync(out).find((f) => f.endsWith('.json'))!;
      const report = JSON.parse(readFileSync(join(out, file), 'utf8')) as LoadtestResult;
      assert.equal(report.joined, 3);
      assert.ok(report.clients.packetsReceived > 0);
      assert.ok(report.clients.lossPercent < 5);
      assert.equal(sfu.node.rooms.participantCount, 0, 'the load test left the room');
    } finally {
      await sfu.stop();
    }
  });
});
