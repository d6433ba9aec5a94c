import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildPli } from '../../media/rtp/rtcp.js';
import { buildReceiverReportBlocks, MAX_REPORT_BLOCKS, readReportBlocks, ReceptionReport, type ReportBlock } from '../../media/rtp/receiver-report.js';
import { buildSenderReport } from '../../media/rtp/sender-report.js';

const SSRC = 0x5555;

function rtp(seq: number, ts: number, ssrc = SSRC): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x80;
  b[1] = 111;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

const BLOCK: ReportBlock = {
  ssrc: 0xdeadbeef,
  fractionLost: 64,
  cumulativeLost: -3,
  extendedHighestSeq: 0x00012345,
  jitter: 77,
  lastSr: 0x12345678,
  delaySinceLastSr: 65536,
};

describe('receiver reports: build and read', () => {
  test('round trip of every field, negative cumulative loss included', () => {
    const b = buildReceiverReportBlocks(1, [BLOCK, { ...BLOCK, ssrc: 2, cumulativeLost: 1000 }]);
    assert.equal(b.length, 8 + 48);
    assert.deepEqual([b[0], b[1], b.readUInt16BE(2)], [0x82, 201, 13]);
    assert.deepEqual(readReportBlocks(b), [
      { reporter: 1, ...BLOCK },
      { reporter: 1, ...BLOCK, ssrc: 2, cumulativeLost: 1000 },
    ]);
  });

  test('cumulative loss is clamped to 24 bits; at most 31 blocks', () => {
    const b = buildReceiverReportBlocks(1, [{ ...BLOCK, cumulativeLost: 1e9 }, { ...BLOCK, cumulativeLost: -1e9 }]);
    assert.deepEqual(
      readReportBlocks(b).map((x) => x.cumulativeLost),
      [0x7fffff, -0x800000],
    );
    const many = buildReceiverReportBlocks(1, new Array<ReportBlock>(40).fill(BLOCK));
    assert.equal(readReportBlocks(many).length, MAX_REPORT_BLOCKS);
  });

  test('blocks of an SR are read after its sender info; other packets and truncated blocks are skipped', () => {
    const srWithBlock = Buffer.concat([buildSenderReport({ ssrc: 9, ntpSeconds: 1, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }), Buffer.alloc(24)]);
    srWithBlock[0] = 0x81;
    srWithBlock.writeUInt16BE(12, 2);
    srWithBlock.writeUInt32BE(0x77, 28);
    assert.deepEqual(
      readReportBlocks(Buffer.concat([buildPli(1, 2), srWithBlock])).map((x) => [x.reporter, x.ssrc]),
      [[9, 0x77]],
    );
    const lying = buildReceiverReportBlocks(1, [BLOCK]);
    lying[0] = 0x85; // says 5 blocks, holds 1
    assert.equal(readReportBlocks(lying).length, 1);
  });
});

describe('ReceptionReport', () => {
  test('nothing to report before the first packet', () => {
    assert.equal(new ReceptionReport(48000, SSRC).report(0), undefined);
  });

  test('loss from sequence gaps: fraction per interval, cumulative, extended highest across a wrap', () => {
    const r = new ReceptionReport(48000, SSRC);
    for (let seq = 65530; seq < 65540; seq++) if (seq !== 65533 && seq !== 65537) r.onPacket(rtp(seq, seq * 960), seq * 20);
    const first = r.report(0)!;
    assert.equal(first.ssrc, SSRC);
    assert.equal(first.extendedHighestSeq, 0x10000 + 3, 'cycles in the high 16 bits');
    assert.equal(first.cumulativeLost, 2);
    assert.equal(first.fractionLost, Math.floor((2 * 256) / 10));
    for (let seq = 65540; seq < 65550; seq++) r.onPacket(rtp(seq, seq * 960), seq * 20);
    const second = r.report(0)!;
    assert.equal(second.fractionLost, 0, 'nothing lost since the last report');
    assert.equal(second.cumulativeLost, 2);
    // Late arrival of a lost packet counts as received.
    r.onPacket(rtp(65533, 65533 * 960), 0);
    assert.equal(r.report(0)!.cumulativeLost, 1);
  });

  test('packets of other SSRCs are not counted when the SSRC is given; followed when not', () => {
    const fixed = new ReceptionReport(48000, SSRC);
    fixed.onPacket(rtp(1, 0, 0x9999), 0);
    assert.equal(fixed.report(0), undefined);
    const following = new ReceptionReport(48000);
    following.onPacket(rtp(1, 0, 0x9999), 0);
    following.onPacket(rtp(500, 0, 0x8888), 0);
    assert.deepEqual([following.report(0)!.ssrc, following.report(0)!.extendedHighestSeq, following.report(0)!.cumulativeLost], [0x8888, 500, 0]);
  });

  test('jitter: zero for perfectly paced packets, grows with arrival variation (RTP units)', () => {
    const steady = new ReceptionReport(48000, SSRC);
    for (let i = 0; i < 100; i++) steady.onPacket(rtp(i, 0xffff0000 + i * 960), 1000 + i * 20);
    assert.equal(steady.report(0)!.jitter, 0, 'also across the wrap of the RTP clock');
    const jittery = new ReceptionReport(48000, SSRC);
    for (let i = 0; i < 200; i++) jittery.onPacket(rtp(i, i * 960), 1000 + i * 20 + (i % 2 === 0 ? 0 : 10));
    // Every transit difference is 10 ms = 480 ticks; the estimate converges on it.
    const jitter = jittery.report(0)!.jitter;
    assert.ok(jitter > 470 && jitter <= 480, `jitter ${jitter}`);
  });

  test('LSR echoes the middle 32 bits of the last SR of the stream; DLSR counts from its arrival', () => {
    const r = new ReceptionReport(90000, SSRC);
    r.onPacket(rtp(1, 0), 0);
    assert.deepEqual([r.report(100)!.lastSr, r.report(100)!.delaySinceLastSr], [0, 0]);
    r.onSenderReport({ ssrc: SSRC, ntpSeconds: 0x12345678, ntpFraction: 0x9abcdef0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }, 1000);
    r.onSenderReport({ ssrc: 0x1, ntpSeconds: 1, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }, 1200);
    const block = r.report(1500)!;
    assert.equal(block.lastSr, 0x56789abc);
    assert.equal(block.delaySinceLastSr, 32768, 'half a second in 1/65536 s');
  });
});
