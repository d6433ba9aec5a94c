import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, afterEach, before } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { MediaPeer } from '../../bench/client/media-peer.js';
import { loopbackEnv, serve, stopServed, type Served } from './cli.js';
import { NatsCluster } from './nats.js';
import { startPublishing, waitUntil } from './peers.js';

export interface ClusterNodeOptions {
  /** Media workers per node; default 1. */
  workers?: number;
  /** --node-timeout, ms; default 3000 (tests notice dead nodes quickly). */
  nodeTimeoutMs?: number;
  /** More environment for every node. */
  env?: Record<string, string>;
}

/** One `shoal serve` process of a test cluster. */
export interface ClusterNode {
  nodeId: string;
  served: Served;
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  httpUrl: string;
  env: Record<string, string>;
}

/**
 * Shoal nodes as separate processes (so they can be SIGKILLed), each joined
 * to the same real NATS cluster, every socket on loopback.
 */
export class ShoalCluster {
  readonly nodes: ClusterNode[] = [];
  private readonly peers: MediaPeer[] = [];

  constructor(
    readonly nats: NatsCluster,
    private readonly options: ClusterNodeOptions = {},
  ) {}

  /** Starts node `n<index + 1>` (again, after a kill or stop: same node id and UDP ports). */
  async startNode(index: number): Promise<ClusterNode> {
    const previous = this.nodes[index];
    const nodeId = `n${index + 1}`;
    const env = previous?.env ?? {
      ...(await loopbackEnv()),
      SHOAL_WORKERS: String(this.options.workers ?? 1),
      SHOAL_NATS_URL: this.nats.servers.map((s) => s.url).join(','),
      SHOAL_NODE_ID: nodeId,
      SHOAL_NODE_TIMEOUT: String(this.options.nodeTimeoutMs ?? 3000),
      SHOAL_LOG_LEVEL: process.env.SHOAL_TEST_LOG ?? 'info',
      ...this.options.env,
    };
    // A new HTTP port: the killed process's may not be free again yet (its UDP ports are).
    const served = await serve(env);
    const node = { nodeId, served, url: `ws://127.0.0.1:${served.port}/ws`, httpUrl: `http://127.0.0.1:${served.port}`, env };
    this.nodes[index] = node;
    return node;
  }

  /** A client (MediaPeer, on 127.0.0.1) joined to a room through node `index`; closed after the test. */
  async join(index: number, room: string, identity: string): Promise<MediaPeer> {
    const peer = await MediaPeer.join({ url: this.nodes[index]!.url, room, identity });
    this.peers.push(peer);
    return peer;
  }

  /** Joins through node `index`, publishes audio and VP8 video and starts sending media. */
  async publish(index: number, room: string, identity: string): Promise<{ peer: MediaPeer; trackIds: string[] }> {
    return startPublishing(await this.join(index, room, identity));
  }

  closePeers(): void {
    for (const peer of this.peers.splice(0)) peer.close();
  }

  /** Kills a node's process (SIGKILL: no drain, no cleanup) and waits for it to be gone. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const { child } = this.nodes[index]!.served;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** SIGTERM: the node drains; resolves with its exit code. */
  stop(index: number): Promise<number | null> {
    return stopServed(this.nodes[index]!.served);
  }

  /** Log lines of a node with this message. */
  logs(index: number, msg: string): Array<Record<string, unknown>> {
    return this.nodes[index]!.served.logs.filter((l) => l.msg === msg);
  }

  async waitForLog(index: number, msg: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    await waitUntil(() => this.logs(index, msg).length > 0, timeoutMs, `node n${index + 1} to log "${msg}"`);
    return this.logs(index, msg)[0]!;
  }

  /** With SHOAL_TEST_DUMP_LOGS=PREFIX, every node's log lines go to PREFIX-<test file>-n<i>.jsonl (to read after a failure). */
  private dumpLogs(): void {
    const prefix = process.env.SHOAL_TEST_DUMP_LOGS;
    if (!prefix) return;
    const file = basename(process.argv[1] ?? 'test', '.js');
    this.nodes.forEach((node, i) => writeFileSync(`${prefix}-${file}-n${i}.jsonl`, node.served.logs.map((line) => JSON.stringify(line)).join('\n')));
  }

  async close(): Promise<void> {
    this.dumpLogs();
    await Promise.all(this.nodes.map((node, i) => (node.served.child.exitCode === null && node.served.child.signalCode === null ? this.kill(i) : undefined)));
  }
}

/**
 * A real 3-server NATS cluster and `nodes` Shoal node processes joined to it,
 * started before the file's first test and removed after its last; the
 * clients a test joined with `cluster.join` are closed after it.
 */
export function shoalClusterForThisFile(nodes = 3, options: ClusterNodeOptions = {}): { cluster: ShoalCluster } {
  const env = {} as { cluster: ShoalCluster };
  before(async () => {
    const nats = await NatsCluster.start(3);
    env.cluster = new ShoalCluster(nats, options);
    for (let i = 0; i < nodes; i++) await env.cluster.startNode(i);
  });
  afterEach(() => env.cluster?.closePeers());
  after(async () => {
    env.cluster?.closePeers();
    await env.cluster?.close();
    await env.cluster?.nats.close();
    // The test's own clients hold the binding: release it, or the process would not exit.
    nodeDataChannel.cleanup();
  });
  return env;
}
