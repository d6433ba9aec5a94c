/** What a benchmark run measures; shared by the harness (which fills it) and the reports (which show it). */

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface WorkerLoad {
  workerId: number;
  /** The worker's node, in a run across nodes. */
  nodeId?: string;
  /** Packets this worker sent to subscribers during the measurement. */
  packetsOut: number;
  /** Its share of all packets sent, 0 to 1. */
  share: number;
  /** Event-loop utilisation of the worker thread, 0 to 1 (mean over the run). */
  utilization: number;
  /** Event-loop delay of the media thread, ms (worst sample of the run). */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

/** What the SFU process did during the measurement window. */
export interface SfuMeasurement {
  /** CPU time of the SFU process (all threads), seconds. */
  cpuUserS: number;
  cpuSystemS: number;
  /** (user + system) / wall time, in cores (1.0 = one core fully used). */
  cpuCores: number;
  /** The same before anyone joined (timers, stats; in a cluster heartbeats, leases, NATS pings), all nodes. */
  idleCores?: number;
  /** CPU microseconds per packet forwarded to a subscriber. */
  cpuMicrosPerForwardedPacket: number;
  /** Forwarded packets per second one fully used core would sustain at this cost. */
  forwardedPacketsPerCore: number;
  packetsIn: number;
  packetsOut: number;
  packetsInPerS: number;
  packetsOutPerS: number;
  bitrateInMbps: number;
  bitrateOutMbps: number;
  /** Resident memory at the end of the run, MB, and per subscriber connection over the idle baseline, KB. */
  rssMB: number;
  rssPerSubscriberKB: number;
  workers: WorkerLoad[];
}

/** What the synthetic clients saw (one-way, send timestamp in every packet). */
export interface ClientMeasurement {
  packetsExpected: number;
  packetsReceived: number;
  lossPercent: number;
  latencyMs: LatencySummary;
  /** Mean interarrival jitter (RFC 3550 estimator on send vs arrival time), ms. */
  jitterMs: number;
  nacksSent: number;
  plisSent: number;
  retransmissionsReceived: number;
  /** CPU of all client processes, in cores. */
  cpuCores: number;
}

/** One node of a run across several nodes (`--nodes N`): what it did, and what its own subscribers saw. */
export interface NodeMeasurement {
  nodeId: string;
  /** Participants that joined through this node, publishing or only receiving. */
  publishers: number;
  subscribers: number;
  /** CPU time (all threads) of this node's process over wall time, cores; and per packet it forwarded to its subscribers, µs. */
  cpuCores: number;
  cpuMicrosPerForwardedPacket: number;
  /** This node's CPU before anyone joined, cores. */
  idleCores: number;
  /** RTP packets from its publishers, and sent to its subscribers. */
  packetsIn: number;
  packetsOut: number;
  /** Its NATS traffic in the window (all subjects), from the media gateway's counters. */
  natsMessagesOut: number;
  natsBytesOut: number;
  natsMessagesIn: number;
  natsBytesIn: number;
  /** Of that, RTP batches it published (shoal.rtp.*) and the packets they carried. */
  rtpMessagesOut: number;
  rtpPacketsOut: number;
  /** One-way latency at this node's subscribers. */
  latencyMs: LatencySummary;
}

/** A run across several nodes joined through one nats-server. */
export interface ClusterMeasurement {
  nodes: NodeMeasurement[];
  /** CPU of the nats-server process over wall time, cores (not in the SFU's totals). */
  natsServerCores: number;
  /** NATS messages and payload bytes all nodes published, per packet forwarded to a subscriber on any node. */
  natsMessagesPerForwardedPacket: number;
  natsBytesPerForwardedPacket: number;
  /** RTP batches published to NATS per RTP packet received from publishers: at most 1, whatever the number of receiving nodes. */
  rtpPublishesPerPacketIn: number;
}

export interface RunResult {
  scenario: string;
  workers: number;
  /** Nodes the run spread its participants over (1: one node, no NATS). */
  nodes?: number;
  /** With nodes > 1: each node, and the NATS traffic between them. */
  cluster?: ClusterMeasurement;
  publishers: number;
  subscribers: number;
  /** Subscriber connections on the SFU (a participant that subscribes counts once). */
  subscriberConnections: number;
  durationS: number;
  sfu: SfuMeasurement;
  clients: ClientMeasurement;
  /**
   * The binding floor for this run's traffic: raw send cost + raw receive cost × (packets in / packets out),
   * µs per forwarded packet, when the raw floor is known; and the SFU's cost over it.
   */
  floorMicrosPerForwardedPacket?: number;
  overheadVsFloor?: number;
  /** With `--repeat`: this is the median of `runs` runs (by µs per forwarded packet); the range over all of them. */
  repeats?: {
    runs: number;
    microsPerPacket: [min: number, max: number];
    overheadVsFloor?: [min: number, max: number];
    lossPercentMax: number;
  };
}

/** node-datachannel alone: CPU per packet to send and to receive (SRTP, UDP), no SFU. */
export interface RawResult {
  packets: number;
  packetBytes: number;
  sendMicrosPerPacket: number;
  receiveMicrosPerPacket: number;
  lossPercent: number;
  /**
   * The same measured at other packet sizes and rates (per-packet cost falls as the rate rises), so
   * that a run's floor can follow its own packet size and rate; the fields above are one of them
   * (the largest size at 20 000 packets/s, when measured).
   */
  bySize: Array<{ packetBytes: number; packetsPerSecond: number; sendMicrosPerPacket: number; receiveMicrosPerPacket: number }>;
}

/** Scaling of one scenario over worker counts. */
export interface SweepResult {
  scenario: string;
  runs: RunResult[];
  /**
   * Forwarded packets per SFU CPU-second at N workers over the same at the smallest count: 1.0 when
   * spreading a room over more workers costs nothing extra per packet. (At a fixed offered load the
   * throughput itself does not change with the worker count, so it cannot serve as the measure.)
   */
  efficiency: Array<{ workers: number; efficiency: number }>;
}

/** The largest load a scenario sustained within the bounds. */
export interface CapacityResult {
  scenario: string;
  workers: number;
  maxLossPercent: number;
  maxLatencyP99Ms: number;
  /** What the search varied: subscribers per room, or publishers (every participant) in a video meeting. */
  varied: 'subscribers' | 'publishers';
  /** The largest count of `varied` within the bounds (0: none). */
  sustained: number;
  /** Every probe, in order. */
  probes: Array<{ count: number; lossPercent: number; latencyP99Ms: number; ok: boolean }>;
}

/**
 * One scenario on one node and across several (`--nodes 1,3`): what the path between nodes adds. Node 1
 * of a cluster run holds the publishers (and its share of subscribers); the others receive over NATS.
 */
export interface ClusterComparison {
  scenario: string;
  workers: number;
  subscribers: number;
  single: RunResult;
  clustered: Array<{
    run: RunResult;
    /**
     * SFU CPU per forwarded packet, all nodes together, over the single node's: 0.2 = 20 % more. The
     * CPU the nodes use idle (idleCores: a fixed cost per node, not per packet) is left out of both.
     */
    addedCpu: number;
    /** The same for the nodes without publishers alone (what receiving over NATS costs; they have fewer subscribers to share it). */
    addedCpuReceivingNodes: number;
    /** Latency at the subscribers of nodes without publishers minus latency on the single node, ms. */
    addedLatencyP50Ms: number;
    addedLatencyP99Ms: number;
    /**
     * With --equal-load: the same CPU figures against one node carrying one node's share of the subscribers
     * (`run`), so that what the path costs shows apart from what forwarding a smaller load costs.
     */
    equalLoad?: { run: RunResult; addedCpu: number; addedCpuReceivingNodes: number };
  }>;
}

export interface BenchReport {
  startedAt: string;
  command: string;
  machine: { cpus: number; cpuModel: string; node: string; libdatachannel: string; memoryGB: number };
  raw?: RawResult;
  runs: RunResult[];
  sweeps: SweepResult[];
  capacity: CapacityResult[];
  /** With --nodes: each scenario on one node beside the same across nodes. */
  clusters?: ClusterComparison[];
}
