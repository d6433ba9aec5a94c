import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MediaGatewayPlacement } from '../../control/config.js';
import type { GatewayStats } from '../../media/gateway/protocol.js';
import type { WorkerStats } from '../../media/worker/protocol.js';
import { freeTcpPort, freeUdpPorts } from './ports.js';

const CLI = fileURLToPath(new URL('../../control/cli/main.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;

/**
 * Nodes under test that are still running. `shoal serve` runs until it is told to stop, so one left
 * behind by a benchmark that exits early (an error, Ctrl-C, SIGTERM) would run for ever: they are
 * sent SIGTERM (a drain) when this process exits.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (all threads) and resident memory of a process, from /proc. */
export function processUsage(pid: number): { userS: number; systemS: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = ticksPerSecond();
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { userS: Number(fields[11]) / ticks, systemS: Number(fields[12]) / ticks, rssMB: rssKB / 1024 };
}

export interface SfuStats {
  rooms: number;
  participants: number;
  workers: Array<{ id: number; alive: boolean } & Partial<WorkerStats>>;
  /** In a cluster: the media gateway's NATS counters (null until its first report). */
  gateway?: GatewayStats | null;
}

/** A node of a cluster: the NATS server it joins through, its node id, and where its media gateway runs. */
export interface ClusterMembership {
  natsUrl: string;
  nodeId: string;
  mediaGateway: MediaGatewayPlacement;
}

/** A Shoal node under test, run as its own process (`shoal serve`) on loopback. */
export class SfuProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** `nodeArgs`: flags for node itself, e.g. --cpu-prof; `cluster`: join a cluster instead of running alone. */
  static async start(workers: number, nodeArgs: string[] = [], cluster?: ClusterMembership): Promise<SfuProcess> {
    const [udpPort, port] = await Promise.all([freeUdpPorts(workers), freeTcpPort()]);
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        SHOAL_HOST: '127.0.0.1',
        SHOAL_PORT: String(port),
        SHOAL_RTC_BIND: '127.0.0.1',
        SHOAL_UDP_PORT: String(udpPort),
        SHOAL_WORKERS: String(workers),
        SHOAL_LOG_LEVEL: 'warn',
        ...(cluster ? { SHOAL_NATS_URL: cluster.natsUrl, SHOAL_NODE_ID: cluster.nodeId, SHOAL_MEDIA_GATEWAY: cluster.mediaGateway } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const sfu = new SfuProcess(child, port);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await sfu.healthy())) {
      if (child.exitCode !== null) throw new Error(`SFU exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`SFU did not start within ${START_TIMEOUT_MS} ms: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return sfu;
  }

  private async healthy(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.port}/healthz`)).ok;
    } catch {
      return false;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  usage(): { userS: number; systemS: number; rssMB: number } {
    return processUsage(this.pid);
  }

  async stats(): Promise<SfuStats> {
    const response = await fetch(`http://127.0.0.1:${this.port}/stats`);
    return (await response.json()) as SfuStats;
  }

  /** SIGTERM (a drain), SIGKILL if it does not end within 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
