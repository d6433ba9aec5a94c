import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeTcpPort } from '../../bench/harness/ports.js';

/** The nats-server binary (Debian package nats-server, 2.9.10 here). */
const NATS_SERVER = process.env.SHOAL_NATS_SERVER ?? 'nats-server';
/** How long a server (or the cluster) may take to be ready after it starts. */
const READY_TIMEOUT_MS = 30_000;

/** One nats-server of a test cluster: its ports stay the same across restarts, and so does its JetStream store. */
export interface NatsServer {
  name: string;
  /** nats://127.0.0.1:PORT */
  url: string;
  clientPort: number;
  clusterPort: number;
  /** The monitoring endpoint (/varz, /connz, /jsz, /healthz). */
  httpPort: number;
  configFile: string;
  logFile: string;
  process?: ChildProcess;
}

/**
 * A real nats-server, alone or as a cluster with routes on loopback, JetStream
 * on, everything (configuration, store, logs) in a temporary directory.
 * Servers can be stopped, killed and started again with the same ports and
 * store. "Ready" means what a client needs: every running server answers
 * /healthz with JetStream current and, in a cluster, agrees on a meta leader;
 * it is polled on the monitoring port, never slept for.
 */
export class NatsCluster {
  private constructor(
    readonly directory: string,
    readonly servers: NatsServer[],
  ) {}

  /** Starts `size` servers (1: a lone server; 3: a cluster of three) and waits until JetStream is ready. */
  static async start(size = 3): Promise<NatsCluster> {
    const directory = await mkdtemp(join(tmpdir(), 'shoal-nats-'));
    const servers: NatsServer[] = [];
    for (let i = 0; i < size; i++) {
      const name = `nats-${i + 1}`;
      const clientPort = await freeTcpPort();
      servers.push({
        name,
        url: `nats://127.0.0.1:${clientPort}`,
        clientPort,
        clusterPort: await freeTcpPort(),
        httpPort: await freeTcpPort(),
        configFile: join(directory, `${name}.conf`),
        logFile: join(directory, `${name}.log`),
      });
    }
    for (const server of servers) await writeFile(server.configFile, serverConfig(server, servers, directory));
    const cluster = new NatsCluster(directory, servers);
    try {
      for (let i = 0; i < size; i++) cluster.spawn(i);
      await cluster.waitReady();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Every server's client URL (what `--nats` gets). */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  running(index: number): boolean {
    const child = this.servers[index]!.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Stops server `index` the way an operator would (SIGTERM) and waits for its exit. */
  stop(index: number): Promise<void> {
    return this.end(index, 'SIGTERM');
  }

  /** Kills server `index` (SIGKILL): no goodbye to clients or routes. */
  kill(index: number): Promise<void> {
    return this.end(index, 'SIGKILL');
  }

  /** Starts server `index` again (same ports and store) and waits until the cluster is ready. */
  async restart(index: number): Promise<void> {
    if (this.running(index)) await this.stop(index);
    this.spawn(index);
    await this.waitReady();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.servers.map((_, i) => this.stop(i)));
  }

  /** Starts every server that is not running, and waits until the cluster is ready. */
  async startAll(): Promise<void> {
    this.servers.forEach((_, i) => this.running(i) || this.spawn(i));
    await this.waitReady();
  }

  /** Waits until every running server is healthy (JetStream current) and, in a cluster, all name the same meta leader. */
  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let problem = 'not polled yet';
    while (Date.now() < deadline) {
      problem = (await this.readiness()) ?? '';
      if (problem === '') return;
      await sleep(100);
    }
    throw new Error(`NATS not ready after ${timeoutMs} ms: ${problem}\n${await this.logTails()}`);
  }

  /** GET a monitoring endpoint (`/varz`, `/connz?subs=1`, `/jsz?streams=1`, ...) of server `index`, parsed. */
  async monitor(index: number, path: string): Promise<Record<string, unknown>> {
    const response = await fetch(`http://127.0.0.1:${this.servers[index]!.httpPort}${path}`);
    return (await response.json()) as Record<string, unknown>;
  }

  /** Kills every server and removes the directory. */
  async close(): Promise<void> {
    await Promise.all(this.servers.map((_, i) => this.kill(i)));
    await rm(this.directory, { recursive: true, force: true });
  }

  /** The last lines of every server's log (for failure messages). */
  async logTails(lines = 15): Promise<string> {
    const tails = await Promise.all(
      this.servers.map(async (s) => {
        const text = await readFile(s.logFile, 'utf8').catch(() => '(no log)');
        return `--- ${s.name}\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
      }),
    );
    return tails.join('\n');
  }

  private spawn(index: number): void {
    const server = this.servers[index]!;
    server.process = spawn(NATS_SERVER, ['-c', server.configFile], { stdio: 'ignore' });
    server.process.on('error', () => {}); // a missing binary shows as "not ready" with the log tail
  }

  private async end(index: number, signal: NodeJS.Signals): Promise<void> {
    const child = this.servers[index]!.process;
    if (!child || !this.running(index)) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** What keeps the cluster from being ready, or undefined when it is. */
  private async readiness(): Promise<string | undefined> {
    const leaders = new Set<string>();
    for (let i = 0; i < this.servers.length; i++) {
      if (!this.running(i)) continue;
      const name = this.servers[i]!.name;
      try {
        const health = await this.monitor(i, '/healthz');
        if (health.status !== 'ok') return `${name}: ${JSON.stringify(health)}`;
        if (this.servers.length > 1) {
          const jsz = await this.monitor(i, '/jsz');
          const leader = (jsz.meta_cluster as { leader?: string } | undefined)?.leader;
          if (!leader) return `${name}: no JetStream meta leader`;
          leaders.add(leader);
        }
      } catch (error) {
        return `${name}: ${(error as Error).message}`;
      }
    }
    return leaders.size > 1 ? `servers disagree on the meta leader: ${[...leaders].join(', ')}` : undefined;
  }
}

/**
 * The configuration of one server: clients, monitoring and routes on
 * loopback, JetStream with its store in the test directory. The same shape
 * runs a production cluster (docs/cluster.md), with real addresses.
 */
function serverConfig(server: NatsServer, all: NatsServer[], directory: string): string {
  const lines = [
    `server_name: ${server.name}`,
    `listen: 127.0.0.1:${server.clientPort}`,
    `http: 127.0.0.1:${server.httpPort}`,
    `log_file: "${server.logFile}"`,
    `jetstream {`,
    `  store_dir: "${join(directory, server.name)}"`,
    `  max_memory_store: 64MB`,
    `  max_file_store: 1GB`,
    `}`,
  ];
  if (all.length > 1) {
    lines.push(
      `cluster {`,
      `  name: shoal-test`,
      `  listen: 127.0.0.1:${server.clusterPort}`,
      `  routes: [${all.filter((s) => s !== server).map((s) => `nats-route://127.0.0.1:${s.clusterPort}`).join(', ')}]`,
      `}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A NATS cluster of `size` servers started before the file's first test and
 * removed after its last. A `before` hook of the file that uses the cluster
 * awaits `ready` (root hooks may start before the earlier ones finished).
 */
export function natsForThisFile(size = 3): { nats: NatsCluster; ready: Promise<NatsCluster> } {
  let started!: (cluster: NatsCluster) => void;
  const env = { ready: new Promise<NatsCluster>((resolve) => (started = resolve)) } as { nats: NatsCluster; ready: Promise<NatsCluster> };
  before(async () => {
    env.nats = await NatsCluster.start(size);
    started(env.nats);
  });
  after(async () => {
    await env.nats?.close();
  });
  return env;
}
