/**
 * A Shoal node of a cluster run as its own process for measurements across
 * nodes, driven over IPC: it can be asked to make a participant consume a
 * track of another node (what the room service will do once rooms span
 * nodes), and for its counters. Its CPU time is the process's (/proc).
 *
 * `ClusterNodeProcess.start` runs this file as the child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { DEFAULT_CLUSTER, DEFAULT_CONFIG, type NodeConfig } from '../../control/config.js';
import { ShoalNode } from '../../control/node.js';
import type { GatewayStats } from '../../media/gateway/protocol.js';
import type { ProducerInfo, WorkerStats } from '../../media/worker/protocol.js';
import { freeUdpPorts } from './ports.js';
import { processUsage } from './sfu-process.js';

interface Requests {
  /** The tracks a participant of this node publishes. */
  producers: [{ participantId: string }, ProducerInfo[]];
  /** Makes a participant of this node consume a track (of any node). */
  consume: [{ participantId: string; producer: ProducerInfo }, void];
  gateway: [Record<string, never>, GatewayStats | undefined];
  workers: [Record<string, never>, WorkerStats[]];
}

type Request = { [N in keyof Requests]: { id: number; op: N; params: Requests[N][0] } }[keyof Requests];
type Reply = { id: number; result?: unknown; error?: string } | { ready: string };

/** The parent's side: a node process on loopback, in a cluster on `natsUrl`. */
export class ClusterNodeProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (reply: Reply) => {
      if (!('id' in reply)) return;
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error) pending?.reject(new Error(reply.error));
      else pending?.resolve(reply.result);
    });
    child.once('exit', (code, signal) => {
      for (const pending of this.pending.values()) pending.reject(new Error(`node ${url} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  static async start(nodeId: string, natsUrl: string, workers: number): Promise<ClusterNodeProcess> {
    const profileDir = process.env.SHOAL_BENCH_PROFILE_DIR;
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      env: { PATH: process.env.PATH ?? '', SHOAL_BENCH_NODE: JSON.stringify({ nodeId, natsUrl, workers }) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`node ${nodeId} exited with ${code}`)));
      child.on('message', (reply: Reply) => 'ready' in reply && resolve(reply.ready));
    });
    return new ClusterNodeProcess(child, url);
  }

  get pid(): number {
    return this.child.pid!;
  }

  usage(): { userS: number; systemS: number; rssMB: number } {
    return processUsage(this.pid);
  }

  request<N extends keyof Requests>(op: N, params: Requests[N][0]): Promise<Requests[N][1]> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`node ${this.url} has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, op, params });
    });
  }

  /** SIGTERM: the node drains and exits. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The child: one node, answering the parent's requests. */
async function runNode(settings: { nodeId: string; natsUrl: string; workers: number }): Promise<void> {
  const config: NodeConfig = {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    nodeId: settings.nodeId,
    workers: settings.workers,
    logLevel: 'warn',
    udpPort: await freeUdpPorts(settings.workers),
    media: { ...DEFAULT_CONFIG.media, bindAddress: '127.0.0.1' },
    cluster: { ...DEFAULT_CLUSTER, servers: [settings.natsUrl] },
  };
  const node = new ShoalNode(config, pino({ level: config.logLevel }, pino.destination(2)));
  await node.start();
  const workerOf = (participantId: string) => {
    for (const room of node.rooms.dump()) {
      const participant = room.participants.find((p) => p.participantId === participantId);
      if (participant) return node.pool.get(participant.workerId)!;
    }
    throw new Error(`no participant ${participantId}`);
  };
  const handlers: { [N in keyof Requests]: (params: Requests[N][0]) => Promise<Requests[N][1]> } = {
    producers: async ({ participantId }) => (await workerOf(participantId).request('producers', {})).filter((p) => p.participantId === participantId),
    consume: ({ participantId, producer }) => workerOf(participantId).request('consume', { participantId, producer }),
    gateway: () => node.pool.fetchGatewayStats(),
    workers: () => Promise.all(node.pool.workers.map((w) => w.request('getStats', {}))),
  };
  process.on('message', (request: Request) => {
    (handlers[request.op] as (params: unknown) => Promise<unknown>)(request.params).then(
      (result) => process.send!({ id: request.id, result }),
      (error: Error) => process.send!({ id: request.id, error: error.message }),
    );
  });
  process.once('SIGTERM', () => {
    node.stop().finally(() => process.exit(0));
  });
  process.send!({ ready: `ws://127.0.0.1:${node.port}/ws` });
}

const settings = process.env.SHOAL_BENCH_NODE;
if (settings && process.argv[1] === fileURLToPath(import.meta.url)) await runNode(JSON.parse(settings));
