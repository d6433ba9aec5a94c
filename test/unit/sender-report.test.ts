import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildPli, buildReceiverReport } from '../../media/rtp/rtcp.js';
import { readSourceHeader, RtpRewriter, type SourceHeader } from '../../media/rtp/rewriter.js';
import {
  buildSenderReport,
  compactNtp,
  MIN_SENDER_REPORT_INTERVAL_MS,
  ntpFromUnixMs,
  ntpParts,
  ntpTime,
  readSenderReport,
  SENDER_REPORT_SIZE,
  SenderReportGate,
  SenderReportRewriter,
  type SenderInfo,
} from '../../media/rtp/sender-report.js';

const INFO: SenderInfo = {
  ssrc: 0x11223344,
  ntpSeconds: 0xe8000001,
  ntpFraction: 0x80000000,
  rtpTimestamp: 0xfffffff0,
  packetCount: 1234,
  octetCount: 567890,
};

function sr(ntpSeconds: number, rtpTimestamp: number, ssrc = INFO.ssrc): SenderInfo {
  return { ...INFO, ssrc, ntpSeconds, ntpFraction: 0, rtpTimestamp };
}

function rtp(src: number, seq: number, ts: number, payload = 100): Buffer {
  const b = Buffer.alloc(12 + payload);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(src >>> 0, 8);
  return b;
}

function header(packet: Uint8Array): SourceHeader {
  const h: SourceHeader = { ssrc: 0, payloadType: 0, seq: 0, ts: 0 };
  readSourceHeader(packet, h);
  return h;
}

describe('sender reports: build and read', () => {
  test('round trip of every field; 28 bytes, RTCP SR with no report blocks', () => {
    const b = buildSenderReport(INFO);
    assert.equal(b.length, SENDER_REPORT_SIZE);
    assert.deepEqual([b[0], b[1], b.readUInt16BE(2)], [0x80, 200, 6]);
    assert.deepEqual(readSenderReport(b), INFO);
  });

  test('found inside a compound packet, by sender SSRC', () => {
    const other = buildSenderReport({ ...INFO, ssrc: 7 });
    const compound = Buffer.concat([buildReceiverReport(1, [2]), other, buildSenderReport(INFO), buildPli(1, 2)]);
    assert.equal(readSenderReport(compound)?.ssrc, 7, 'the first SR when no SSRC is asked for');
    assert.deepEqual(readSenderReport(compound, INFO.ssrc), INFO);
    assert.equal(readSenderReport(compound, 99), undefined);
  });

  test('nothing is read from a truncated, short or malformed SR', () => {
    const b = buildSenderReport(INFO);
    assert.equal(readSenderReport(b.subarray(0, 27)), undefined, 'length field runs past the buffer');
    const short = Buffer.from(b.subarray(0, 24));
    short.writeUInt16BE(5, 2);
    assert.equal(readSenderReport(short), undefined, 'a packet shorter than the sender info');
    const badVersion = Buffer.from(b);
    badVersion[0] = 0x40;
    assert.equal(readSenderReport(badVersion), undefined);
    assert.equal(readSenderReport(Buffer.alloc(0)), undefined);
    assert.equal(readSenderReport(buildPli(1, 2)), undefined);
  });

  test('NTP helpers: seconds and fraction, the Unix epoch, the compact middle 32 bits', () => {
    assert.equal(ntpTime({ ntpSeconds: 10, ntpFraction: 0x40000000 }), 10.25);
    assert.deepEqual(ntpParts(10.25), { ntpSeconds: 10, ntpFraction: 0x40000000 });
    assert.equal(ntpFromUnixMs(0), 2_208_988_800);
    assert.equal(ntpFromUnixMs(1500), 2_208_988_801.5);
    assert.equal(compactNtp({ ntpSeconds: 0x12345678, ntpFraction: 0x9abcdef0 }), 0x56789abc);
  });
});

describe('SenderReportGate', () => {
  test('one SR per interval; NTP must advance within a stream; a new SSRC starts over', () => {
    const gate = new SenderReportGate();
    assert.equal(gate.accept(sr(100, 0), 0), true);
    assert.equal(gate.accept(sr(101, 0), MIN_SENDER_REPORT_INTERVAL_MS - 1), false, 'too soon');
    assert.equal(gate.accept(sr(100, 0), 1000), false, 'NTP did not advance');
    assert.equal(gate.accept(sr(99, 0), 1000), false, 'NTP went back');
    assert.equal(gate.accept(sr(101, 0), 1000), true);
    assert.equal(gate.accept(sr(5, 0, 0x99), 2000), true, 'another stream: its own clock');
    assert.equal(gate.accept(sr(0, 0, 0x98), 3000), false, 'NTP time zero');
  });

  test('a storm of valid SRs passes at most one per interval', () => {
    const gate = new SenderReportGate();
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) if (gate.accept(sr(100 + i, i), i * 0.1)) accepted++;
    assert.equal(accepted, Math.ceil(1000 / MIN_SENDER_REPORT_INTERVAL_MS));
  });
});

describe('SenderReportRewriter', () => {
  test("the subscriber's SSRC, its own counts, the publisher's NTP time unchanged", () => {
    const rw = new SenderReportRewriter(0xabc, 90000);
    rw.onSent(rtp(1, 1, 0, 100));
    rw.onSent(rtp(1, 2, 0, 50));
    const out = readSenderReport(rw.rewrite(INFO, 12345))!;
    assert.deepEqual(out, { ssrc: 0xabc, ntpSeconds: INFO.ntpSeconds, ntpFraction: INFO.ntpFraction, rtpTimestamp: 12345, packetCount: 2, octetCount: 150 });
  });

  test('a new source: its NTP times continue the mapping of the previous one', () => {
    const rw = new SenderReportRewriter(0xabc, 90000);
    rw.rewrite(sr(1000, 0), 900_000);
    // The old source's mapping: NTP 1000 ↔ 900 000, 90 000 ticks a second.
    const next = readSenderReport(rw.rewrite(sr(1001, 0), 990_000))!;
    assert.equal(ntpTime(next), 1001, 'same source: NTP unchanged');
    // Another publisher, whose clock is 500 s behind: its SR at its NTP 600 is at out timestamp 1 260 000, 3 s after NTP 1001.
    const switched = readSenderReport(rw.rewrite(sr(600, 5, 0x77), 1_260_000))!;
    assert.ok(Math.abs(ntpTime(switched) - 1004) < 1e-6, `continued at ${ntpTime(switched)}`);
    const later = readSenderReport(rw.rewrite(sr(602, 5, 0x77), 1_440_000))!;
    assert.ok(Math.abs(ntpTime(later) - 1006) < 1e-6, 'the shift stays for the source');
  });

  test('with the RtpRewriter: timestamps of the source being forwarded translate, others do not', () => {
    const rewriter = new RtpRewriter(0xabc, 100, 90000, 10, 5_000_000);
    assert.equal(rewriter.outputTimestamp(0x1111, 1000), undefined, 'before any packet');
    const p = rtp(0x1111, 500, 1_000_000);
    rewriter.rewrite(p, header(p), 0);
    assert.equal(rewriter.outputTimestamp(0x1111, 1_090_000), 5_090_000);
    assert.equal(rewriter.outputTimestamp(0x2222, 1_090_000), undefined, 'another source');
    const q = rtp(0x2222, 9, 4_294_000_000);
    rewriter.rewrite(q, header(q), 1000);
    assert.equal(rewriter.outputTimestamp(0x1111, 1_090_000), undefined, 'a replaced source');
    // 1 s of wall time later the new source continues at 5 000 000 + 90 000; its clock wraps on the way.
    assert.equal(rewriter.outputTimestamp(0x2222, (4_294_000_000 + 1_000_000) >>> 0), (5_090_000 + 1_000_000) >>> 0);
  });
});
