import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareNodes } from '../../bench/harness/bench.js';
import { plan } from '../../bench/harness/scenarios.js';
import { renderTable } from '../../bench/report/table.js';
import type { BenchReport, NodeMeasurement, RunResult } from '../../bench/report/types.js';

const latency = (p50: number, p99: number) => ({ p50, p95: p99, p99, max: p99 });

/** A 10 s run forwarding `packetsOut` packets at `cores` (of which `idleCores` idle). */
function run(nodes: number, cores: number, idleCores: number, packetsOut: number, p50: number, p99: number, cluster?: NodeMeasurement[]): RunResult {
  return {
    scenario: 'livestream', workers: 1, nodes, publishers: 1, subscribers: 30, subscriberConnections: 31, durationS: 10,
    sfu: {
      cpuUserS: cores * 10, cpuSystemS: 0, cpuCores: cores, idleCores, cpuMicrosPerForwardedPacket: (cores * 10 * 1e6) / packetsOut,
      forwardedPacketsPerCore: 0, packetsIn: 3600, packetsOut, packetsInPerS: 360, packetsOutPerS: packetsOut / 10,
      bitrateInMbps: 2.7, bitrateOutMbps: 80, rssMB: 100, rssPerSubscriberKB: 120, workers: [],
    },
    clients: {
      packetsExpected: packetsOut, packetsReceived: packetsOut, lossPercent: 0, latencyMs: latency(p50, p99),
      jitterMs: 0.5, nacksSent: 0, plisSent: 0, retransmissionsReceived: 0, cpuCores: 0.5,
    },
    ...(cluster
      ? { cluster: { nodes: cluster, natsServerCores: 0.02, natsMessagesPerForwardedPacket: 0.008, natsBytesPerForwardedPacket: 31, rtpPublishesPerPacketIn: 0.23 } }
      : {}),
  };
}

function node(nodeId: string, publishers: number, cpuCores: number, idleCores: number, packetsOut: number, p50: number, p99: number): NodeMeasurement {
  return {
    nodeId, publishers, subscribers: 10, cpuCores, idleCores, cpuMicrosPerForwardedPacket: (cpuCores * 10 * 1e6) / packetsOut,
    packetsIn: publishers > 0 ? 3600 : 0, packetsOut, natsMessagesOut: publishers > 0 ? 810 : 10, natsBytesOut: 3_300_000,
    natsMessagesIn: publishers > 0 ? 20 : 810, natsBytesIn: 3_300_000, rtpMessagesOut: publishers > 0 ? 810 : 0,
    rtpPacketsOut: publishers > 0 ? 3600 : 0, latencyMs: latency(p50, p99),
  };
}

// One node: 0.11 busy cores for 108,000 packets. Three: 0.14 busy cores for as many.
const single = run(1, 0.12, 0.01, 108_000, 1.4, 4.0);
const clustered = run(3, 0.17, 0.03, 108_000, 2.0, 4.8, [
  node('bench-1', 1, 0.06, 0.01, 36_000, 1.5, 4.2), node('bench-2', 0, 0.06, 0.01, 36_000, 2.1, 4.6), node('bench-3', 0, 0.05, 0.01, 36_000, 2.4, 5.0),
]);

test('compareNodes: added CPU per forwarded packet without idle CPU, all nodes and receiving nodes; added latency at the receiving nodes', () => {
  const comparison = compareNodes(single, [{ run: clustered }]);
  assert.equal(comparison.single, single);
  const [added] = comparison.clustered;
  assert.ok(Math.abs(added!.addedCpu - (0.14 / 0.11 - 1)) < 1e-9, String(added!.addedCpu));
  // Receiving nodes: 0.09 busy cores for 72,000 packets, against 0.11 for 108,000.
  assert.ok(Math.abs(added!.addedCpuReceivingNodes - ((0.09 / 72_000) / (0.11 / 108_000) - 1)) < 1e-9, String(added!.addedCpuReceivingNodes));
  assert.ok(Math.abs(added!.addedLatencyP50Ms - 1.0) < 1e-9 && Math.abs(added!.addedLatencyP99Ms - 1.0) < 1e-9);
  assert.equal(added!.equalLoad, undefined, 'no equal-load run, no equal-load figures');

  const report: BenchReport = {
    startedAt: '2026-11-27T00:00:00Z', command: 'shoal bench livestream --nodes 1,3',
    machine: { cpus: 2, cpuModel: 'x', node: 'v20', libdatachannel: '0.23', memoryGB: 24 },
    runs: [single, clustered], sweeps: [], capacity: [], clusters: [comparison],
  };
  const table = renderTable(report);
  assert.match(table, /Across nodes: livestream w=1 subs=30/);
  assert.match(table, /Nodes: livestream nodes=3 w=1 subs=30/);
  assert.match(table, /\+27\.3 %/);
  assert.match(table, /bench-3 +0 +10/);
});

test('compareNodes at equal load: the cluster against one node carrying one node\'s share of the subscribers', () => {
  // One node with 10 of the 30 subscribers: 0.045 busy cores for 36,000 packets (less efficient than 0.11 for 108,000).
  const share = { ...run(1, 0.05, 0.005, 36_000, 1.2, 3.5), subscribers: 10 };
  const [added] = compareNodes(single, [{ run: clustered, share }]).clustered;
  const perPacket = (busyCores: number, packets: number) => busyCores / packets;
  assert.equal(added!.equalLoad?.run, share);
  assert.ok(Math.abs(added!.equalLoad!.addedCpu - (perPacket(0.14, 108_000) / perPacket(0.045, 36_000) - 1)) < 1e-9, String(added!.equalLoad!.addedCpu));
  assert.ok(Math.abs(added!.equalLoad!.addedCpuReceivingNodes - (perPacket(0.09, 72_000) / perPacket(0.045, 36_000) - 1)) < 1e-9);
  assert.ok(added!.addedCpu > added!.equalLoad!.addedCpu, 'against the whole scenario on one node, spreading the load shows as cost too');
  const table = renderTable({
    startedAt: '2026-11-28T00:00:00Z', command: 'shoal bench livestream --nodes 1,3 --equal-load',
    machine: { cpus: 2, cpuModel: 'x', node: 'v20', libdatachannel: '0.23', memoryGB: 24 },
    runs: [single, clustered, share], sweeps: [], capacity: [], clusters: [compareNodes(single, [{ run: clustered, share }])],
  });
  assert.match(table, /at equal load: one node µs\/pkt/);
  assert.match(table, /\+3\.70? %/);
});

test('plan over nodes: publishers on the first node, subscribers round robin; in a video meeting everyone round robin', () => {
  const livestream = plan('livestream', { rooms: 1, publishers: 1, subscribers: 5 }, 3);
  assert.deepEqual(livestream.peers.map((p) => [p.identity, p.node]), [['pub-1', 0], ['sub-1', 0], ['sub-2', 1], ['sub-3', 2], ['sub-4', 0], ['sub-5', 1]]);
  const meeting = plan('video-meeting', { rooms: 1, publishers: 4, subscribers: 0 }, 2);
  assert.deepEqual(meeting.peers.map((p) => p.node), [0, 1, 0, 1]);
  assert.ok(plan('livestream', { rooms: 1, publishers: 1, subscribers: 2 }).peers.every((p) => p.node === undefined), 'one node: nothing to choose');
});
