import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { MediaProfile } from '../client/media-profile.js';
import { LatencyHistogram } from '../client/stream-stats.js';
import type { ClientMeasurement, LatencySummary } from '../report/types.js';
import type { ClientSnapshot, FleetCommand, FleetReply, PeerPlan } from './fleet-protocol.js';

const WORKER = fileURLToPath(new URL('./fleet-worker.js', import.meta.url));

/** Client processes of a benchmark or load test, driven over IPC. */
export class ClientFleet {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(processes: number): ClientFleet {
    const children = Array.from({ length: processes }, () => fork(WORKER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    return new ClientFleet(children);
  }

  /**
   * Starts the participants, spread over the processes round robin, each
   * process joining one every `rampMs`; a participant joins through `urls[plan.node ?? 0]`.
   * Resolves when all are in (or failed).
   */
  async join(urls: string[], peers: PeerPlan[], options: { profile: MediaProfile; rampMs: number; timeoutMs: number }): Promise<{ joined: number; failures: string[] }> {
    const shares = this.children.map((): PeerPlan[] => []);
    peers.forEach((peer, i) => shares[i % shares.length]!.push(peer));
    const replies = await Promise.all(
      this.children.map((child, i) =>
        this.request(child, { type: 'join', urls, peers: shares[i]!, profile: options.profile, rampMs: options.rampMs }, 'joined', options.timeoutMs),
      ),
    );
    return {
      joined: replies.reduce((n, r) => n + (r.type === 'joined' ? r.joined : 0), 0),
      failures: replies.flatMap((r) => (r.type === 'joined' ? r.failures : [])),
    };
  }

  /** Resolves once the processes together receive packets on `streams` tracks (or after `timeoutMs`). */
  async waitForStreams(streams: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const snapshots = await Promise.all(this.children.map((child) => this.request(child, { type: 'snapshot' }, 'snapshot', 10_000)));
      const receiving = snapshots.reduce((n, s) => n + (s.type === 'snapshot' ? s.snapshot.tracksReceiving : 0), 0);
      if (receiving >= streams || Date.now() > deadline) return receiving;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Starts the measurement window. */
  reset(): void {
    for (const child of this.children) this.send(child, { type: 'reset' });
  }

  /** What every process measured since `reset`, merged; and the one-way latency at each node's participants. */
  async measure(wallS: number): Promise<{ clients: ClientMeasurement; latencyByNode: LatencySummary[] }> {
    const snapshots = await Promise.all(this.children.map((child) => this.request(child, { type: 'snapshot' }, 'snapshot', 10_000)));
    return mergeSnapshots(snapshots.map((s) => (s as Extract<FleetReply, { type: 'snapshot' }>).snapshot), wallS);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = once(child, 'exit');
        this.send(child, { type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private send(child: ChildProcess, command: FleetCommand): void {
    if (child.connected) child.send(command);
  }

  private request<T extends FleetReply['type']>(child: ChildProcess, command: FleetCommand, expect: T, timeoutMs: number): Promise<FleetReply> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: FleetReply) => {
        if (message.type !== expect) return;
        cleanup();
        resolve(message);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`client process exited (${code}) while waiting for "${expect}"`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`client process did not answer "${command.type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      this.send(child, command);
    });
  }
}

function summary(latency: LatencyHistogram): LatencySummary {
  return { p50: latency.percentile(50), p95: latency.percentile(95), p99: latency.percentile(99), max: latency.maxMs };
}

function mergeSnapshots(snapshots: ClientSnapshot[], wallS: number): { clients: ClientMeasurement; latencyByNode: LatencySummary[] } {
  const latency = new LatencyHistogram();
  const byNode: LatencyHistogram[] = [];
  let expected = 0;
  let received = 0;
  let jitterSum = 0;
  let jitterSamples = 0;
  let nacks = 0;
  let plis = 0;
  let rtx = 0;
  let cpuMicros = 0;
  for (const s of snapshots) {
    s.latencyByNode.forEach(({ buckets, maxMs }, node) => {
      latency.merge(buckets, maxMs);
      (byNode[node] ??= new LatencyHistogram()).merge(buckets, maxMs);
    });
    expected += s.packetsExpected;
    received += s.packetsReceived;
    jitterSum += s.jitterSumMs;
    jitterSamples += s.jitterSamples;
    nacks += s.nacksSent;
    plis += s.plisSent;
    rtx += s.retransmissions;
    cpuMicros += s.cpuUserMicros + s.cpuSystemMicros;
  }
  const clients: ClientMeasurement = {
    packetsExpected: expected,
    packetsReceived: received,
    lossPercent: expected > 0 ? (100 * Math.max(0, expected - received)) / expected : 0,
    latencyMs: summary(latency),
    jitterMs: jitterSamples > 0 ? jitterSum / jitterSamples : 0,
    nacksSent: nacks,
    plisSent: plis,
    retransmissionsReceived: rtx,
    cpuCores: wallS > 0 ? cpuMicros / 1e6 / wallS : 0,
  };
  return { clients, latencyByNode: Array.from(byNode, (h) => summary(h ?? new LatencyHistogram())) };
}
