import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeTcpPort } from './ports.js';

/** A connection as the server's monitoring endpoint (/connz?subs=1) lists it. */
export interface NatsConnectionInfo {
  name?: string;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions_list?: string[];
}

/**
 * One real nats-server (Debian's, with JetStream) on loopback ports of its
 * own, with its monitoring endpoint: it can be stopped and started again on
 * the same ports (an outage).
 */
export class NatsServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    private readonly storeDir: string,
  ) {}

  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freeTcpPort(), await freeTcpPort(), mkdtempSync(join(tmpdir(), 'shoal-gateway-nats-')));
    await server.start();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) and resolves once it answers its health check. */
  async start(): Promise<void> {
    const args = ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), '-sd', this.storeDir];
    // The server ends when our end of the pipe closes: on stop(), and when this process dies
    // whatever the way (an aborted test would otherwise leave it running).
    const child = spawn('sh', ['-c', 'exec 3<&0; nats-server "$@" </dev/null & server=$!; (read _ <&3; kill $server 2>/dev/null) & wait $server', 'sh', ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${stderr}`);
      if (await this.healthy()) return;
      if (Date.now() > deadline) throw new Error(`nats-server did not become healthy: ${stderr}`);
      await sleep(50);
    }
  }

  /** The nats-server process (a child of the shell that watches the pipe), while it runs. */
  serverPid(): number | undefined {
    const shell = this.child?.pid;
    if (shell === undefined) return undefined;
    try {
      const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).map(Number);
      return children.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nats-server');
    } catch {
      return undefined; // ended meanwhile
    }
  }

  /** Stops the server (SIGTERM) and resolves once it exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await exited;
  }

  /** Stops the server for good and removes its store. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  /** The client connections the server has now, with their subscriptions. */
  async connections(): Promise<NatsConnectionInfo[]> {
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz?subs=1&limit=1024`);
    return ((await response.json()) as { connections?: NatsConnectionInfo[] }).connections ?? [];
  }

  /** The connection named `name` (clients name theirs), or undefined. */
  async connection(name: string): Promise<NatsConnectionInfo | undefined> {
    return (await this.connections()).find((c) => c.name === name);
  }

  private async healthy(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`)).ok;
    } catch {
      return false;
    }
  }
}
