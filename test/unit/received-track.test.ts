import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Track } from 'node-datachannel';
import { ReceivedTrack } from '../../bench/client/received-track.js';
import { RtpSource } from '../../bench/client/rtp-source.js';
import { LatencyHistogram } from '../../bench/client/stream-stats.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import { buildRtxPacket } from '../../media/rtp/rtx.js';

/** A stand-in for the subscriber's node-datachannel track: keeps what would be sent to the SFU. */
function fakeTrack(): { track: Track; sent: Buffer[] } {
  const sent: Buffer[] = [];
  return { track: { sendMessageBinary: (b: Buffer) => (sent.push(b), true) } as unknown as Track, sent };
}

test('a sequence gap is NACKed at once; the RTX repair counts and clears it', () => {
  let now = 1000;
  const { track, sent } = fakeTrack();
  const latency = new LatencyHistogram();
  const received = new ReceivedTrack('t', 'v', track, latency, 777, true, true, () => now);
  const source = new RtpSource(555, 96, 90000);
  const packets = Array.from({ length: 6 }, (_, i) => source.next(1100, { keyframe: i === 0 }));
  for (const p of [packets[0]!, packets[1]!, packets[4]!]) received.onPacket(p);
  const nacks = sent.flatMap((b) => parseFeedback(b).nacks);
  assert.deepEqual(nacks, [{ ssrc: 555, seqs: [packets[2]!.readUInt16BE(2), packets[3]!.readUInt16BE(2)] }]);
  assert.equal(received.nacksSent, 1);

  received.onPacket(buildRtxPacket(packets[2]!, 777, 97, 1));
  received.onPacket(buildRtxPacket(packets[3]!, 777, 97, 2));
  assert.equal(received.retransmissions, 2);
  assert.equal(received.stream.received, 5, 'probes of the retransmitted packets count');
  now += 300;
  received.onPacket(packets[5]!);
  assert.equal(received.plisSent, 0, 'repaired in time: no keyframe needed');
  assert.equal(received.stream.expected, 6);
  assert.equal(received.seqJumps, 1);
});

test('a PLI when no keyframe came within a second, and when a loss stays unrepaired; at most one a second', () => {
  let now = 0;
  const { track, sent } = fakeTrack();
  const received = new ReceivedTrack('t', 'v', track, new LatencyHistogram(), undefined, true, true, () => now);
  const source = new RtpSource(9, 96, 90000);
  const plis = () => sent.filter((b) => parseFeedback(b).keyframe.includes(9)).length;
  for (; now <= 1000; now += 100) received.onPacket(source.next(500));
  assert.equal(plis(), 0);
  now = 1100;
  received.onPacket(source.next(500));
  assert.equal(plis(), 1, 'no keyframe after a second');
  received.onPacket(source.next(500, { keyframe: true }));
  source.next(500); // lost
  now = 1200;
  received.onPacket(source.next(500));
  now = 1500;
  received.onPacket(source.next(500));
  assert.equal(plis(), 1, 'rate-limited to one a second');
  now = 2200;
  received.onPacket(source.next(500));
  assert.equal(plis(), 2, 'the unrepaired loss asks for a keyframe');
});

test('without feedback the track only counts', () => {
  const { track, sent } = fakeTrack();
  const received = new ReceivedTrack('t', 'a', track, new LatencyHistogram(), undefined, false, false);
  const source = new RtpSource(1, 111, 48000);
  received.onPacket(source.next(100));
  source.next(100);
  received.onPacket(source.next(100));
  assert.equal(sent.length, 0);
  assert.equal(received.stream.expected, 3);
  assert.equal(received.stream.received, 2);
});
