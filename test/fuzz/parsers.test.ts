/**
 * Fuzzing of the parsers that take network input, in process: the signaling
 * decoder (JSON text frames, protobuf binary frames, data channel messages),
 * SDP offers, RTP and RTCP packets, media bus messages and track wants from other
 * nodes. Each target runs its regression cases and SHOAL_FUZZ_CASES generated
 * ones (10 000 by default).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { BusFrameError, countTrackPackets, decodeTrackPackets } from '../../media/bus/track-packets.js';
import { decodeTrackWants, TrackWantsError } from '../../media/gateway/track-wants.js';
import { isIdToken } from '../../media/gateway/subjects.js';
import { buildRtxPacket, rtxOriginalSequenceNumber } from '../../media/rtp/rtx.js';
import { parseFeedback, parseRembBitrate } from '../../media/rtp/rtcp.js';
import { readReportBlocks } from '../../media/rtp/receiver-report.js';
import { readSenderReport } from '../../media/rtp/sender-report.js';
import { readSourceHeader, restoreHeader, RtpRewriter, type SourceHeader } from '../../media/rtp/rewriter.js';
import { isRtp, payloadOffset, sequenceNumber } from '../../media/rtp/rtp-packet.js';
import { preparePublisherOffer } from '../../media/sdp/publisher-offer.js';
import { parseSdp, SdpError } from '../../media/sdp/sdp.js';
import { decodeClientMessage, decodeDataMessage, ProtocolError } from '../../control/signaling/codec.js';
import { shoal } from '../../proto/generated/shoal.js';
import { busMessage, wantsMessage, publisherOffer, rtcpPacket, rtpPacket, signalingJson, signalingProtobuf } from './generators.js';
import { FuzzFinding, runFuzz, type FuzzTarget, type Input } from './kit.js';

const { ClientMessage } = shoal.signaling.v1;

function expect(condition: boolean, what: string): void {
  if (!condition) throw new FuzzFinding(what);
}

/** Runs a target; fails the test with every failing input, and reports what ran. */
async function fuzz<T extends Input>(t: TestContext, target: FuzzTarget<T>): Promise<void> {
  const report = await runFuzz(target);
  assert.deepEqual(report.failures, [], `${target.name}: ${report.failures.length} failing inputs`);
  assert.ok(report.cases > 0);
  t.diagnostic(`${report.cases} cases + ${report.regressions} regressions, seed ${report.seed}, slowest ${report.slowestMs.toFixed(1)} ms`);
}

const isProtocolError = (error: unknown) => error instanceof ProtocolError;

/** A decoded client message must carry a known type and survive a protobuf round trip. */
function checkDecoded(message: shoal.signaling.v1.ClientMessage): void {
  expect(typeof message.message === 'string' && message.message.length > 0, 'a decoded message has a type');
  const again = decodeClientMessage(ClientMessage.encode(message).finish(), true);
  expect(again.message === message.message, `round trip kept the type (${message.message} → ${again.message})`);
}

describe('fuzzing the parsers of network input', { timeout: 300_000 }, () => {
  test('signaling JSON text frames: a message or MALFORMED/UNKNOWN, nothing else', async (t) => {
    await fuzz<Uint8Array>(t, {
      name: 'signaling-json',
      generate: signalingJson,
      check: (frame) => checkDecoded(decodeClientMessage(frame, false)),
      expected: isProtocolError,
    });
  });

  test('signaling protobuf binary frames', async (t) => {
    await fuzz<Uint8Array>(t, {
      name: 'signaling-protobuf',
      generate: signalingProtobuf,
      check: (frame) => checkDecoded(decodeClientMessage(frame, true)),
      expected: isProtocolError,
    });
  });

  test('data channel messages (text and binary)', async (t) => {
    await fuzz<Uint8Array>(t, {
      name: 'data-message',
      generate: (rng) => (rng.chance(0.5) ? signalingJson(rng) : signalingProtobuf(rng)),
      check: (bytes) => {
        decodeDataMessage(bytes);
        decodeDataMessage(Buffer.from(bytes).toString('utf8'));
      },
      expected: isProtocolError,
    });
  });

  test('SDP offers: a usable offer or SdpError; what is answered parses again', async (t) => {
    await fuzz<string>(t, {
      name: 'sdp-offer',
      generate: publisherOffer,
      check: (sdp) => {
        const prepared = preparePublisherOffer(sdp);
        const again = preparePublisherOffer(prepared.sdp);
        expect(again.tracks.length === prepared.tracks.length, 'preparing a prepared offer keeps its tracks');
        expect(prepared.tracks.length <= parseSdp(prepared.sdp).media.length, 'at most one track per m-line');
      },
      expected: (error) => error instanceof SdpError,
    });
  });

  test('RTCP: feedback, sender report and report block parsing never throws and stays within the packet', async (t) => {
    await fuzz<Uint8Array>(t, {
      name: 'rtcp',
      generate: rtcpPacket,
      check: (packet) => {
        const feedback = parseFeedback(packet);
        const seqs = feedback.nacks.reduce((n, nack) => n + nack.seqs.length, 0);
        expect(seqs <= 17 * Math.floor(packet.length / 4), `${seqs} NACKed sequence numbers from ${packet.length} bytes`);
        expect(feedback.nacks.every((n) => n.seqs.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffff)), 'sequence numbers are 16-bit');
        expect([...feedback.keyframe, ...feedback.nacks.map((n) => n.ssrc)].every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffffffff), 'SSRCs are 32-bit');
        const remb = parseRembBitrate(packet);
        expect(remb === undefined || (Number.isFinite(remb) && remb >= 0), 'a REMB bitrate is a finite number');
        const sr = readSenderReport(packet);
        expect(sr === undefined || Object.values(sr).every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff), 'SR fields are 32-bit');
        expect(readReportBlocks(packet).length * 24 <= packet.length, 'report blocks lie within the packet');
      },
      expected: () => false,
    });
  });

  test('RTP: header reading, rewriting and RTX wrapping never throw and restore the packet', async (t) => {
    const rewriter = new RtpRewriter(0x11223344, 96, 90000);
    const header: SourceHeader = { ssrc: 0, payloadType: 0, seq: 0, ts: 0 };
    let now = 0;
    await fuzz<Uint8Array>(t, {
      name: 'rtp',
      generate: rtpPacket,
      check: (input) => {
        const packet = Buffer.from(input);
        if (!isRtp(packet)) return;
        expect(payloadOffset(packet) <= packet.length, 'the payload starts inside the packet');
        const original = Buffer.from(packet);
        readSourceHeader(packet, header);
        now += 20;
        if (rewriter.rewrite(packet, header, now)) {
          const rtx = buildRtxPacket(packet, 0x55667788, 97, 1);
          expect(rtxOriginalSequenceNumber(rtx) === sequenceNumber(packet), 'RTX carries the original sequence number');
        }
        restoreHeader(packet, header);
        expect(packet.equals(original), 'the shared packet is restored after a fan-out');
      },
      expected: () => false,
    });
  });

  test('media bus messages: checked packets or BusFrameError; the gateway\'s count agrees', async (t) => {
    await fuzz<Uint8Array>(t, {
      name: 'bus-frames',
      generate: busMessage,
      check: (message) => {
        const lists = decodeTrackPackets(message);
        const all = [...lists.rtp, ...lists.resent, ...lists.feedback];
        expect(all.length === countTrackPackets(message), 'the count is the number of packets protobufjs decodes');
        expect(all.every((p) => p.length > 0 && p.length <= 65_535), 'every packet has 1 to 65,535 bytes');
      },
      expected: (error) => error instanceof BusFrameError,
    });
  });

  test('track wants from other nodes: checked wants or TrackWantsError', async (t) => {
    await fuzz<Uint8Array>(t, {
      name: 'track-wants',
      generate: wantsMessage,
      check: (message) => {
        const { nodeId, wants } = decodeTrackWants(message);
        expect(isIdToken(nodeId), 'the node id can stand in a subject');
        expect(wants.length <= 1000, 'at most 1000 wants');
        expect(wants.every((w) => isIdToken(w.trackId) && Number.isInteger(w.workerId) && w.workerId >= 0 && w.workerId <= 255), 'every want is usable');
      },
      expected: (error) => error instanceof TrackWantsError,
    });
  });
});
