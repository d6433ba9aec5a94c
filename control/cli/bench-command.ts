import { Command, Option } from 'clipanion';
import { accessSync, constants as fsConstants } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import * as t from 'typanion';
import { runBench } from '../../bench/harness/bench.js';
import { SCENARIOS, type ScenarioName } from '../../bench/harness/scenarios.js';
import { progressDisplay, renderTable } from '../../bench/report/table.js';
import { writeReport } from '../../bench/report/write-report.js';
import { DEFAULT_CLUSTER, MEDIA_GATEWAY_CHOICES, type MediaGatewayPlacement } from '../config.js';
import { booleanOption } from './env-flag.js';
import { countingNumber, wholeNumber } from './validators.js';

/** `shoal bench`: starts an SFU and synthetic clients on this machine, measures, reports. */
export class BenchCommand extends Command {
  static override paths = [['bench']];

  static override usage = Command.Usage({
    description: 'Benchmark a Shoal node on this machine',
    details: `
      Starts \`shoal serve\` as its own process on 127.0.0.1 and synthetic clients (real node-datachannel peers,
      in client processes) that speak the public signaling protocol, runs the scenario, and reports SFU CPU
      (total and µs per forwarded packet, and against the binding floor), packets and bitrate in and out, loss,
      one-way latency, jitter, memory, per-worker load and event-loop lag. Writes a JSON file and a Markdown
      report with SVG charts into --out.

      Scenarios: audio-room (few publishers, many listeners), video-meeting (everyone publishes and receives),
      livestream (one publisher, many viewers), raw (node-datachannel alone: the floor), all (raw and the three;
      the default, or SHOAL_BENCH_SCENARIO).

      --nodes 1,3 runs each configuration on one node and across three nodes joined through a nats-server
      (started here; it must be on the PATH): the publishers on the first node, the subscribers spread over
      all of them; the report shows what the path between nodes adds (CPU per forwarded packet, latency, NATS
      messages and bytes per packet) and each node's own numbers.

      A list of worker counts (--workers 1,2,4) runs a sweep; --capacity searches the largest load within the
      bounds of --max-loss and --max-latency; --repeat 3 runs every configuration three times and reports the median.
    `,
    examples: [
      ['All scenarios with defaults', '$0 bench'],
      ['A livestream to 100 viewers over 1 and 2 workers', '$0 bench livestream --subscribers 100 --workers 1,2'],
      ['A livestream to 30 viewers on one node and spread over three', '$0 bench livestream --nodes 1,3 --no-raw'],
      ['How many viewers one worker takes at 0.5 % loss and 50 ms p99', '$0 bench livestream --capacity --max-latency 50'],
    ],
  });

  scenario = Option.String({ required: false, name: 'scenario' });
  rooms = Option.String('--rooms', { env: 'SHOAL_BENCH_ROOMS', validator: countingNumber, description: 'Rooms, each with the same participants; default 1 (env SHOAL_BENCH_ROOMS)' });
  publishers = Option.String('--publishers', { env: 'SHOAL_BENCH_PUBLISHERS', validator: countingNumber, description: "Publishers per room; default the scenario's (env SHOAL_BENCH_PUBLISHERS)" });
  subscribers = Option.String('--subscribers', { env: 'SHOAL_BENCH_SUBSCRIBERS', description: "Receive-only participants per room, or several comma separated (one run each); default the scenario's (env SHOAL_BENCH_SUBSCRIBERS)" });
  duration = Option.String('--duration', '10', { env: 'SHOAL_BENCH_DURATION', validator: countingNumber, description: 'Measurement window per run, s; default 10 (env SHOAL_BENCH_DURATION)' });
  warmup = Option.String('--warmup', '3', { env: 'SHOAL_BENCH_WARMUP', validator: wholeNumber, description: 'Wait after everyone joined before measuring, s; default 3 (env SHOAL_BENCH_WARMUP)' });
  workers = Option.String('--workers', '1', { env: 'SHOAL_BENCH_WORKERS', description: 'Media worker counts, comma separated: one run each; default 1 (env SHOAL_BENCH_WORKERS)' });
  nodes = Option.String('--nodes', '1', { env: 'SHOAL_BENCH_NODES', description: 'Node counts, comma separated: one run each; over 1, the nodes join a nats-server started for the run; default 1 (env SHOAL_BENCH_NODES)' });
  mediaGateway = Option.String('--media-gateway', DEFAULT_CLUSTER.mediaGateway, { env: 'SHOAL_BENCH_MEDIA_GATEWAY', validator: t.isEnum(MEDIA_GATEWAY_CHOICES), description: `With --nodes over 1: where each node's media gateway runs (shoal serve --media-gateway: auto, thread or worker); default ${DEFAULT_CLUSTER.mediaGateway} (env SHOAL_BENCH_MEDIA_GATEWAY)` });
  equalLoad = Option.Boolean('--equal-load', { description: "With --nodes 1,N: also run one node with one node's share of the subscribers (subscribers / N), and report the cluster's CPU against it too; default no (env SHOAL_BENCH_EQUAL_LOAD)" });
  clientProcesses = Option.String('--client-processes', String(availableParallelism()), { env: 'SHOAL_BENCH_CLIENT_PROCESSES', validator: countingNumber, description: 'Processes running the synthetic clients; default number of cores (env SHOAL_BENCH_CLIENT_PROCESSES)' });
  raw = Option.Boolean('--raw', { description: 'Measure the node-datachannel floor first; default yes, --no-raw skips it (env SHOAL_BENCH_RAW)' });
  rawRates = Option.String('--raw-rates', '5000,20000,60000', { env: 'SHOAL_BENCH_RAW_RATES', description: 'Packet rates the floor is measured at, comma separated; default 5000,20000,60000 (env SHOAL_BENCH_RAW_RATES)' });
  repeat = Option.String('--repeat', '1', { env: 'SHOAL_BENCH_REPEAT', validator: countingNumber, description: 'Runs of every configuration and floor point (capacity probes run once); the median is reported with the range; default 1 (env SHOAL_BENCH_REPEAT)' });
  capacity = Option.Boolean('--capacity', { description: 'Search the largest subscriber count within the loss and latency bounds; default no (env SHOAL_BENCH_CAPACITY)' });
  maxLoss = Option.String('--max-loss', '0.5', { env: 'SHOAL_BENCH_MAX_LOSS', validator: t.isNumber(), description: 'Capacity bound: loss, %; default 0.5 (env SHOAL_BENCH_MAX_LOSS)' });
  maxLatency = Option.String('--max-latency', '100', { env: 'SHOAL_BENCH_MAX_LATENCY', validator: t.isNumber(), description: 'Capacity bound: one-way latency p99, ms; default 100 (env SHOAL_BENCH_MAX_LATENCY)' });
  capacityMax = Option.String('--capacity-max', '2000', { env: 'SHOAL_BENCH_CAPACITY_MAX', validator: countingNumber, description: 'Capacity search: largest count tried; default 2000 (env SHOAL_BENCH_CAPACITY_MAX)' });
  profile = Option.String('--profile', { env: 'SHOAL_BENCH_PROFILE', description: 'Write V8 CPU profiles of the SFU (every thread, every run) into this directory (env SHOAL_BENCH_PROFILE)' });
  out = Option.String('--out', 'bench/results', { env: 'SHOAL_BENCH_OUT', description: 'Where the JSON and Markdown reports go; default bench/results (env SHOAL_BENCH_OUT)' });

  async execute(): Promise<number> {
    // Interrupted: exit through process.exit, whose exit hook stops the node under test (see SfuProcess).
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.context.stderr.write(`\n${signal}: benchmark stopped\n`);
        process.exit(128 + constants.signals[signal]);
      });
    }
    const selected = this.scenario ?? process.env.SHOAL_BENCH_SCENARIO ?? 'all';
    const names = [...SCENARIOS, 'raw', 'all'];
    if (!names.includes(selected)) {
      this.context.stderr.write(`unknown scenario "${selected}"; one of ${names.join(', ')}\n`);
      return 2;
    }
    const list = (option: string, value: string, min: number): number[] | undefined => {
      const numbers = value.split(',').map((n) => Number(n.trim()));
      if (numbers.every((n) => Number.isInteger(n) && n >= min)) return numbers;
      this.context.stderr.write(`${option} must be ${min > 0 ? 'positive integers' : 'whole numbers'} separated by commas, not "${value}"\n`);
      return undefined;
    };
    const rawRates = list('--raw-rates', this.rawRates, 1);
    const subscriberCounts = this.subscribers === undefined ? undefined : list('--subscribers', this.subscribers, 0);
    const workers = list('--workers', this.workers, 1);
    const nodes = list('--nodes', this.nodes, 1);
    if (!rawRates || (this.subscribers !== undefined && !subscriberCounts) || !workers || !nodes) return 2;
    if (nodes.some((n) => n > 1) && !onPath('nats-server')) {
      this.context.stderr.write('--nodes over 1 needs nats-server on the PATH (Debian: apt-get install nats-server)\n');
      return 2;
    }
    const scenarios: ScenarioName[] = selected === 'all' ? [...SCENARIOS] : selected === 'raw' ? [] : [selected as ScenarioName];
    const capacity = booleanOption(this.capacity, 'SHOAL_BENCH_CAPACITY', false);
    const progress = progressDisplay(this.context.stderr as NodeJS.WriteStream);
    const report = await runBench({
      scenarios,
      params: {
        ...(this.rooms !== undefined ? { rooms: Number(this.rooms) } : {}),
        ...(this.publishers !== undefined ? { publishers: Number(this.publishers) } : {}),
      },
      ...(subscriberCounts ? { subscriberCounts } : {}),
      workers,
      nodes,
      mediaGateway: this.mediaGateway as MediaGatewayPlacement,
      equalLoad: booleanOption(this.equalLoad, 'SHOAL_BENCH_EQUAL_LOAD', false),
      durationS: Number(this.duration),
      warmupS: Number(this.warmup),
      clientProcesses: Number(this.clientProcesses),
      raw: selected === 'raw' || booleanOption(this.raw, 'SHOAL_BENCH_RAW', true),
      rawRates,
      repeat: Number(this.repeat),
      ...(capacity
        ? {
            capacity: {
              maxLossPercent: Number(this.maxLoss),
              maxLatencyP99Ms: Number(this.maxLatency),
              start: 10,
              max: Number(this.capacityMax),
              probeDurationS: Math.min(Number(this.duration), 8),
            },
          }
        : {}),
      ...(this.profile ? { profileDir: resolve(this.profile) } : {}),
      command: ['shoal', 'bench', ...process.argv.slice(3)].join(' '),
      onProgress: progress.show,
    });
    progress.end();
    this.context.stdout.write(renderTable(report) + '\n');
    const stem = `bench-${report.startedAt.replace(/[:.]/g, '-')}`;
    const written = writeReport(report, this.out, stem);
    this.context.stdout.write(`\nwrote ${written.json}\n      ${written.markdown}\n`);
    return 0;
  }
}

/** Whether an executable named `name` is in a directory of $PATH. */
function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
