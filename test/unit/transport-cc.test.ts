import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArrivalRecorder } from '../../media/rtp/arrival-recorder.js';
import { NOT_RECEIVED, readTransportSequence, TransportCcWriter } from '../../media/rtp/transport-cc.js';
import { parseTransportCc, type ParsedTransportCc } from '../support/transport-cc-parser.js';

/** A feedback packet from `arrivals` (µs, or NOT_RECEIVED) written from `base`; every status must fit. */
function feedback(base: number, arrivals: number[], maxBytes?: number): ParsedTransportCc {
  const writer = new TransportCcWriter(maxBytes);
  writer.begin(base);
  for (const a of arrivals) assert.ok(writer.add(a), 'fits');
  return parseTransportCc(writer.finish(0x11111111, 0x22222222, 7));
}

/** Every packet `recorder.flush` writes, parsed. */
function flushed(recorder: ArrivalRecorder): ParsedTransportCc[] {
  const out: ParsedTransportCc[] = [];
  recorder.flush(1, 2, (packet) => out.push(parseTransportCc(packet)));
  return out;
}

/** The (sequence, arrivalUs) pairs reported received. */
const received = (packets: ParsedTransportCc[]) =>
  packets.flatMap((p) => p.statuses.filter((s) => s.arrivalUs !== undefined).map((s) => [s.sequence, s.arrivalUs!]));

const T0 = 1_000_000_000; // µs: about 16 minutes of process uptime

describe('TransportCcWriter', () => {
  test('header fields: SSRCs, base sequence, status count, reference time in 64 ms units, feedback count', () => {
    const p = feedback(4321, [T0 + 1000, T0 + 2000]);
    assert.equal(p.senderSsrc, 0x11111111);
    assert.equal(p.mediaSsrc, 0x22222222);
    assert.equal(p.baseSequence, 4321);
    assert.equal(p.statusCount, 2);
    assert.equal(p.referenceTime, Math.floor((T0 + 1000) / 64_000));
    assert.equal(p.feedbackCount, 7);
    assert.equal(p.size % 4, 0);
  });

  test('a run of received packets with small deltas is one run length chunk', () => {
    const p = feedback(0, [T0, T0 + 1000, T0 + 2000]);
    assert.deepEqual(p.chunks, [0x2003]);
    // 20 bytes of header, one chunk, three 1-byte deltas, one byte of zero padding.
    assert.equal(p.size, 28);
  });

  test('received and lost mixed: a status vector of 1-bit symbols', () => {
    const p = feedback(0, [T0, NOT_RECEIVED, T0 + 2000]);
    assert.deepEqual(p.chunks, [0xa800]);
    assert.deepEqual(p.statuses.map((s) => s.symbol), [1, 0, 1]);
  });

  test('a large delta: a status vector of 2-bit symbols, the delta in 16 bits', () => {
    const p = feedback(0, [T0, T0 + 100_000]); // 100 ms: 400 ticks, more than a byte holds
    assert.deepEqual(p.chunks, [0xd800]);
    assert.deepEqual(p.statuses.map((s) => s.symbol), [1, 2]);
  });

  test('a reordered packet (arrived before the one numbered before it): a negative 16-bit delta', () => {
    const p = feedback(0, [T0 + 5000, T0 + 3000]);
    assert.deepEqual(p.statuses.map((s) => s.symbol), [1, 2]);
    assert.ok(Math.abs(p.statuses[1]!.arrivalUs! - (T0 + 3000)) <= 125);
  });

  test('14 mixed symbols fill a vector; a long loss is a run; run lengths stop at 8191', () => {
    const arrivals = [T0, ...Array<number>(1000).fill(NOT_RECEIVED), T0 + 500];
    assert.deepEqual(feedback(0, arrivals).chunks, [0xa000, 0x03db, 0x2001]);
    const long = feedback(0, [...Array<number>(9000).fill(NOT_RECEIVED), T0]);
    assert.deepEqual(long.chunks, [0x1fff, 9000 - 8191, 0x2001]);
  });

  test('only the last chunk is partly filled: a 1-bit vector that a large delta cannot join sends a full 2-bit vector of seven', () => {
    const small = [T0, NOT_RECEIVED, ...Array.from({ length: 7 }, (_, i) => T0 + (i + 1) * 1000)];
    const p = feedback(0, [...small, T0 + 200_000]);
    assert.deepEqual(p.chunks, [0xd155, 0xd600]);
    assert.deepEqual(p.statuses.map((s) => s.symbol), [1, 0, 1, 1, 1, 1, 1, 1, 1, 2]);
  });

  test('round trip: arrival times come back within 125 µs (rounding does not accumulate), losses stay losses', () => {
    for (let seed = 1; seed <= 200; seed++) {
      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const lossRate = random() * 0.5;
      let time = T0;
      const arrivals: number[] = [];
      for (let i = 0; i < 400; i++) {
        time += random() < 0.1 ? random() * 200_000 : random() * 3000 - (random() < 0.05 ? 6000 : 0);
        arrivals.push(i > 0 && random() < lossRate ? NOT_RECEIVED : time);
      }
      const p = feedback(65500, arrivals, 4000);
      assert.equal(p.statusCount, arrivals.length);
      p.statuses.forEach((s, i) => {
        assert.equal(s.sequence, (65500 + i) & 0xffff, 'sequence numbers wrap');
        if (arrivals[i] === NOT_RECEIVED) assert.equal(s.arrivalUs, undefined);
        else assert.ok(Math.abs(s.arrivalUs! - arrivals[i]!) <= 125, `seed ${seed} status ${i}: ${s.arrivalUs} vs ${arrivals[i]}`);
      });
    }
  });

  test('a packet that would pass the size limit is refused; the next packet takes it', () => {
    const writer = new TransportCcWriter(100);
    writer.begin(0);
    let added = 0;
    // Large deltas: two bytes each, a chunk per seven.
    while (writer.add(T0 + added * 100_000)) added++;
    const packet = writer.finish(1, 2, 0);
    assert.ok(packet.length <= 100);
    assert.equal(parseTransportCc(packet).statusCount, added);
    writer.begin(added);
    assert.ok(writer.add(T0 + added * 100_000));
  });

  test('an arrival more than 8.19 s from the previous one does not fit a 16-bit delta', () => {
    const writer = new TransportCcWriter();
    writer.begin(0);
    assert.ok(writer.add(T0));
    assert.equal(writer.add(T0 + 9_000_000), false);
    assert.equal(writer.add(T0 - 9_000_000), false);
    assert.ok(writer.add(T0 + 8_000_000));
  });
});

describe('ArrivalRecorder', () => {
  test('each flush reports from the first unreported number to the highest received, once', () => {
    const recorder = new ArrivalRecorder();
    recorder.record(100, T0);
    recorder.record(101, T0 + 1000);
    recorder.record(103, T0 + 3000);
    const [first, ...rest] = flushed(recorder);
    assert.equal(rest.length, 0);
    assert.equal(first!.baseSequence, 100);
    assert.deepEqual(first!.statuses.map((s) => s.symbol), [1, 1, 0, 1]);
    assert.deepEqual(flushed(recorder), [], 'nothing new, nothing sent');
    recorder.record(104, T0 + 4000);
    const [second] = flushed(recorder);
    assert.equal(second!.baseSequence, 104);
    assert.equal(second!.feedbackCount, first!.feedbackCount + 1);
  });

  test('the sequence number wraps', () => {
    const recorder = new ArrivalRecorder();
    for (let i = 0; i < 10; i++) recorder.record((65530 + i) & 0xffff, T0 + i * 1000);
    const [p] = flushed(recorder);
    assert.equal(p!.baseSequence, 65530);
    assert.deepEqual(p!.statuses.map((s) => s.sequence), [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3]);
    assert.ok(p!.statuses.every((s) => s.symbol === 1));
  });

  test('a packet arriving after its number was reported lost is reported again, received', () => {
    const recorder = new ArrivalRecorder();
    recorder.record(10, T0);
    recorder.record(12, T0 + 2000);
    assert.deepEqual(flushed(recorder)[0]!.statuses.map((s) => s.symbol), [1, 0, 1]);
    recorder.record(11, T0 + 9000);
    recorder.record(13, T0 + 10_000);
    const [again] = flushed(recorder);
    assert.equal(again!.baseSequence, 11);
    assert.deepEqual(again!.statuses.map((s) => s.sequence), [11, 12, 13]);
    assert.ok(again!.statuses.every((s) => s.arrivalUs !== undefined), 'all three received');
    assert.ok(Math.abs(again!.statuses[0]!.arrivalUs! - (T0 + 9000)) <= 125);
    assert.ok(Math.abs(again!.statuses[1]!.arrivalUs! - (T0 + 2000)) <= 125, 'arrived before 11: a negative delta');
  });

  test('a gap of seconds in arrival splits the report into two feedback packets', () => {
    const recorder = new ArrivalRecorder();
    recorder.record(1, T0);
    recorder.record(2, T0 + 1000);
    recorder.record(3, T0 + 20_000_000);
    const packets = flushed(recorder);
    assert.equal(packets.length, 2);
    assert.deepEqual(packets.map((p) => [p.baseSequence, p.statusCount]), [[1, 2], [3, 1]]);
    assert.equal(packets[1]!.feedbackCount, (packets[0]!.feedbackCount + 1) & 0xff);
    assert.deepEqual(received(packets).map(([s]) => s), [1, 2, 3]);
  });

  test('many statuses are split into packets of at most 1200 bytes covering consecutive numbers', () => {
    const recorder = new ArrivalRecorder();
    // Every other packet lost, 100 ms apart: 2-bit vectors and 2-byte deltas.
    for (let i = 0; i < 3000; i += 2) recorder.record(i, T0 + i * 50_000);
    const packets = flushed(recorder);
    assert.ok(packets.length >= 3, `${packets.length} packets`);
    let next = 0;
    for (const p of packets) {
      assert.ok(p.size <= 1200);
      assert.equal(p.baseSequence, next);
      next = p.baseSequence + p.statusCount;
    }
    assert.equal(next, 2999);
    assert.equal(received(packets).length, 1500);
  });

  test('a jump of a whole window starts over; what lies between is not reported', () => {
    const recorder = new ArrivalRecorder(1024);
    recorder.record(0, T0);
    flushed(recorder);
    recorder.record(30_000, T0 + 1000);
    recorder.record(30_001, T0 + 2000);
    const packets = flushed(recorder);
    assert.deepEqual(packets.map((p) => [p.baseSequence, p.statusCount]), [[30_000, 2]]);
    // And back again, behind by more than a window: starts over there, stale slots are not mistaken for arrivals.
    recorder.record(5, T0 + 3000);
    recorder.record(7, T0 + 4000);
    assert.deepEqual(flushed(recorder)[0]!.statuses.map((s) => [s.sequence, s.symbol]), [[5, 1], [6, 0], [7, 1]]);
  });

  test('a jump within the window: the lost numbers are reported, compactly', () => {
    const recorder = new ArrivalRecorder();
    recorder.record(0, T0);
    recorder.record(5000, T0 + 1000);
    const [p] = flushed(recorder);
    assert.equal(p!.statusCount, 5001);
    assert.ok(p!.size <= 32);
  });

  test('hostile sequence numbers: every flush stays bounded and every packet is well-formed', () => {
    const recorder = new ArrivalRecorder();
    let seed = 99;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 500; i++) recorder.record(Math.floor(random() * 0x10000), T0 + round * 1_000_000 + random() * 20_000_000);
      recorder.record(-1, T0);
      recorder.record(0x10000, T0);
      const packets = flushed(recorder);
      assert.ok(packets.length <= 8);
      for (const p of packets) assert.ok(p.size <= 1200);
    }
  });
});

describe('readTransportSequence', () => {
  /** An RTP packet with a header extension block `profile` + `data` (padded to 32 bits). */
  function rtp(profile: number, data: number[], csrcs = 0): Buffer {
    const padded = [...data, ...Array<number>((4 - (data.length % 4)) % 4).fill(0)];
    const b = Buffer.alloc(12 + 4 * csrcs + 4 + padded.length + 10);
    b[0] = 0x90 | csrcs;
    b[1] = 96;
    const at = 12 + 4 * csrcs;
    b.writeUInt16BE(profile, at);
    b.writeUInt16BE(padded.length / 4, at + 2);
    Buffer.from(padded).copy(b, at + 4);
    return b;
  }

  test('one-byte form: found after other elements and padding, behind CSRCs', () => {
    // abs-send-time (id 2, 3 bytes), a padding byte, transport-cc (id 3, 2 bytes).
    const packet = rtp(0xbede, [0x22, 1, 2, 3, 0, 0x31, 0xab, 0xcd], 2);
    assert.equal(readTransportSequence(packet, 3), 0xabcd);
    assert.equal(readTransportSequence(packet, 4), -1);
  });

  test('two-byte form', () => {
    assert.equal(readTransportSequence(rtp(0x1000, [7, 1, 9, 0, 20, 2, 0x12, 0x34]), 20), 0x1234);
  });

  test('no extension, another profile, a stop id, or an element running past the block: none', () => {
    const plain = Buffer.alloc(20);
    plain[0] = 0x80;
    assert.equal(readTransportSequence(plain, 3), -1);
    assert.equal(readTransportSequence(rtp(0xabcd, [0x31, 0xab, 0xcd]), 3), -1);
    assert.equal(readTransportSequence(rtp(0xbede, [0xf0, 0x31, 0xab, 0xcd]), 3), -1);
    assert.equal(readTransportSequence(rtp(0xbede, [0x1f, 0x31, 0xab]), 3), -1);
    assert.equal(readTransportSequence(rtp(0xbede, [0x30, 0xab]), 3), -1, 'one byte of data is not a sequence number');
    const truncated = rtp(0xbede, [0x31, 0xab, 0xcd]);
    truncated.writeUInt16BE(40, 14); // says 160 bytes of extension
    assert.equal(readTransportSequence(truncated, 3), -1);
  });
});
