import assert from 'node:assert/strict';
import { test } from 'node:test';
import { floorAt, medianRaw, medianRun, sweep, withFloor } from '../../bench/harness/bench.js';
import type { RawResult, RunResult } from '../../bench/report/types.js';

const raw: RawResult = {
  packets: 100_000,
  packetBytes: 1100,
  sendMicrosPerPacket: 6,
  receiveMicrosPerPacket: 9,
  lossPercent: 0,
  bySize: [
    { packetBytes: 100, packetsPerSecond: 5000, sendMicrosPerPacket: 9, receiveMicrosPerPacket: 12 },
    { packetBytes: 1100, packetsPerSecond: 5000, sendMicrosPerPacket: 11, receiveMicrosPerPacket: 14 },
    { packetBytes: 100, packetsPerSecond: 50000, sendMicrosPerPacket: 4, receiveMicrosPerPacket: 7 },
    { packetBytes: 1100, packetsPerSecond: 50000, sendMicrosPerPacket: 6, receiveMicrosPerPacket: 9 },
  ],
};

test('the floor is interpolated in packet size and log rate, and clamped outside what was measured', () => {
  assert.equal(floorAt(raw, 600, 5000, 'sendMicrosPerPacket'), 10);
  assert.equal(floorAt(raw, 1100, 50000, 'sendMicrosPerPacket'), 6);
  const middle = floorAt(raw, 1100, Math.sqrt(5000 * 50000), 'sendMicrosPerPacket');
  assert.ok(Math.abs(middle - 8.5) < 1e-9, `${middle}`);
  assert.equal(floorAt(raw, 5000, 1e6, 'sendMicrosPerPacket'), 6, 'clamped above');
  assert.equal(floorAt(raw, 10, 10, 'receiveMicrosPerPacket'), 12, 'clamped below');
});

function run(workers: number, micros: number): RunResult {
  return {
    scenario: 'livestream',
    workers,
    publishers: 1,
    subscribers: 100,
    subscriberConnections: 101,
    durationS: 10,
    sfu: {
      cpuUserS: 1, cpuSystemS: 1, cpuCores: 0.2, cpuMicrosPerForwardedPacket: micros, forwardedPacketsPerCore: 1e6 / micros,
      packetsIn: 5000, packetsOut: 500_000, packetsInPerS: 500, packetsOutPerS: 50_000,
      bitrateInMbps: (500 * 1100 * 8) / 1e6, bitrateOutMbps: (50_000 * 1100 * 8) / 1e6, rssMB: 100, rssPerSubscriberKB: 300, workers: [],
    },
    clients: { packetsExpected: 1, packetsReceived: 1, lossPercent: 0, latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 }, jitterMs: 0, nacksSent: 0, plisSent: 0, retransmissionsReceived: 0, cpuCores: 0 },
  };
}

test("a run's floor: a send at its output rate plus its share of a receive at its input rate", () => {
  const r = withFloor(run(1, 7.5), raw);
  // send at 50 000/s, 1100 B: 6; receive at 500/s (clamped to 5000/s), 1100 B: 14, times 5000/500000.
  assert.ok(Math.abs(r.floorMicrosPerForwardedPacket! - 6.14) < 1e-9);
  assert.ok(Math.abs(r.overheadVsFloor! - 7.5 / 6.14) < 1e-9);
  assert.equal(withFloor(run(1, 7.5), undefined).overheadVsFloor, undefined);
});

test('sweep efficiency compares forwarded packets per CPU-second with the smallest worker count', () => {
  const s = sweep('livestream', [run(2, 8), run(1, 6)]);
  assert.deepEqual(s.efficiency, [{ workers: 2, efficiency: 0.75 }, { workers: 1, efficiency: 1 }]);
});

test('repeated runs report the median run by µs per packet, with the range of all of them', () => {
  const runs = [9, 6, 13, 7].map((micros) => withFloor(run(1, micros), raw));
  const median = medianRun(runs);
  assert.equal(median.sfu.cpuMicrosPerForwardedPacket, 7, 'the lower middle run of four');
  assert.equal(median.repeats?.runs, 4);
  assert.deepEqual(median.repeats?.microsPerPacket, [6, 13]);
  assert.ok(Math.abs(median.repeats!.overheadVsFloor![1] - 13 / 6.14) < 1e-9);
  assert.equal(medianRun([runs[0]!]).repeats, undefined, 'a single run is reported as it is');
});

test('repeated floor measurements keep the median send and the median receive cost', () => {
  const point = (send: number, receive: number) => ({ packets: 1000, packetBytes: 100, sendMicrosPerPacket: send, receiveMicrosPerPacket: receive, lossPercent: 0 });
  const m = medianRaw([point(10, 14), point(13, 12), point(9, 20)]);
  assert.equal(m.sendMicrosPerPacket, 10);
  assert.equal(m.receiveMicrosPerPacket, 14);
});
