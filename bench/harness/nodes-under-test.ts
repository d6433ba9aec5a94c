import type { MediaGatewayPlacement } from '../../control/config.js';
import { NatsServer } from './nats-server.js';
import { processUsage, SfuProcess, type SfuStats } from './sfu-process.js';

export interface Usage {
  userS: number;
  systemS: number;
  rssMB: number;
}

/**
 * The Shoal nodes a benchmark run measures: one node alone (the embedded
 * store, no NATS), or `count` nodes (`bench-1` ... `bench-N`) joined through
 * one nats-server with JetStream, every process on loopback.
 */
export class NodesUnderTest {
  private constructor(
    readonly nodes: SfuProcess[],
    readonly nats: NatsServer | undefined,
  ) {}

  /** `nodeArgs`: flags for node itself (e.g. --cpu-prof), for every node; `mediaGateway`: where a cluster node's gateway runs. */
  static async start(count: number, workers: number, nodeArgs: string[] = [], mediaGateway: MediaGatewayPlacement = 'auto'): Promise<NodesUnderTest> {
    if (count === 1) return new NodesUnderTest([await SfuProcess.start(workers, nodeArgs)], undefined);
    const nats = await NatsServer.start();
    const nodes: SfuProcess[] = [];
    try {
      for (let i = 1; i <= count; i++) nodes.push(await SfuProcess.start(workers, nodeArgs, { natsUrl: nats.url, nodeId: `bench-${i}`, mediaGateway }));
      return new NodesUnderTest(nodes, nats);
    } catch (error) {
      await Promise.all(nodes.map((node) => node.stop()));
      await nats.close();
      throw error;
    }
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  /** CPU time and memory of every node's process, in node order. */
  usage(): Usage[] {
    return this.nodes.map((node) => node.usage());
  }

  /** CPU time and memory of the nats-server, when there is one. */
  natsUsage(): Usage | undefined {
    const pid = this.nats?.serverPid();
    return pid === undefined ? undefined : processUsage(pid);
  }

  stats(): Promise<SfuStats[]> {
    return Promise.all(this.nodes.map((node) => node.stats()));
  }

  /** Every node drains (SIGTERM) at once, then the nats-server ends. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await this.nats?.close();
  }
}
