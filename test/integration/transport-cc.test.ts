import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MediaPeer } from '../../bench/client/media-peer.js';
import { RtpSource } from '../../bench/client/rtp-source.js';
import { forEachRtcpPacket, parseRembBitrate, RTCP_RTPFB } from '../../media/rtp/rtcp.js';
import { TRANSPORT_CC_URI } from '../../media/rtp/transport-cc.js';
import { mediaSection, sfuForThisFile, sleep, waitUntil } from '../support/peers.js';
import { parseTransportCc, type ParsedTransportCc } from '../support/transport-cc-parser.js';

const EXTENSION_ID = 5;
const env = sfuForThisFile({ workers: 1, media: { publisherFeedback: 'twcc' } });

/** The client's offer with the transport-cc header extension and feedback on its audio and video m-lines, as Chrome offers them. */
function offerTransportCc(sdp: string): string {
  return sdp
    .split('\r\n')
    .flatMap((line) => {
      const rtpmap = /^a=rtpmap:(\d+) /.exec(line);
      if (rtpmap) return [line, `a=rtcp-fb:${rtpmap[1]} transport-cc`];
      if (/^a=mid:[01]$/.test(line)) return [line, `a=extmap:${EXTENSION_ID} ${TRANSPORT_CC_URI}`];
      return [line];
    })
    .join('\r\n');
}

/** An RTP packet of `source` carrying transport-wide sequence number `sequence` (one-byte header extension). */
function withTransportSequence(source: RtpSource, sequence: number, extensionId = EXTENSION_ID): Buffer {
  const plain = source.next(kindPayload(source));
  const extension = Buffer.from([0xbe, 0xde, 0, 1, (extensionId << 4) | 1, sequence >> 8, sequence & 0xff, 0]);
  const packet = Buffer.concat([plain.subarray(0, 12), extension, plain.subarray(12)]);
  packet[0] = packet[0]! | 0x10;
  return packet;
}

const kindPayload = (source: RtpSource) => (source.clockRate === 90000 ? 1000 : 100);

/** Every transport-cc feedback packet in the RTCP the publisher got on its video track. */
function feedbackReceived(peer: MediaPeer): ParsedTransportCc[] {
  const out: ParsedTransportCc[] = [];
  for (const compound of peer.publisherRtcp('video')) {
    forEachRtcpPacket(compound, (pt, fmt, start, end) => {
      if (pt === RTCP_RTPFB && fmt === 15) out.push(parseTransportCc(compound.subarray(start, end)));
    });
  }
  return out;
}

/** Sequence number → reported arrival time (µs, on the feedback's clock), and the numbers reported lost. */
function statuses(feedback: ParsedTransportCc[]): { arrivals: Map<number, number>; lost: Set<number> } {
  const arrivals = new Map<number, number>();
  const lost = new Set<number>();
  for (const packet of feedback) {
    for (const s of packet.statuses) {
      if (s.arrivalUs === undefined) lost.add(s.sequence);
      else arrivals.set(s.sequence, s.arrivalUs);
    }
  }
  return { arrivals, lost };
}

async function publishWithTransportCc(): Promise<MediaPeer> {
  const peer = await env.peers.join('twcc', `pub-${Math.random().toString(36).slice(2, 8)}`, { transformOffer: offerTransportCc });
  await peer.publish({ audio: true, video: 'VP8' });
  await peer.waitPublisherConnected();
  return peer;
}

/** Sends one packet with transport-wide sequence number `sequence` on the audio or video track. */
function send(peer: MediaPeer, kind: 'audio' | 'video', sequence: number, extensionId?: number): void {
  const published = peer.published.get(kind)!;
  published.track.sendMessageBinary(withTransportSequence(published.source, sequence & 0xffff, extensionId));
}

describe('transport-cc feedback to a publisher (--publisher-feedback twcc)', () => {
  test('the answer keeps the extension, and feedback covers every sequence number sent, across m-lines and the wrap, with real arrival times', async () => {
    const peer = await publishWithTransportCc();
    const answer = peer.publisher!.remoteDescription()!.sdp;
    for (const mid of ['0', '1']) {
      const lines = mediaSection(answer, mid)!.lines;
      assert.ok(lines.includes(`a=extmap:${EXTENSION_ID} ${TRANSPORT_CC_URI}`), `m-line ${mid} answers the extension: ${lines.join(' | ')}`);
      assert.ok(lines.some((l) => /^a=rtcp-fb:\d+ transport-cc$/.test(l)), `m-line ${mid} answers transport-cc feedback`);
    }

    // One sequence space over audio and video, wrapping at 65535; 65530..65534 and 3 are never sent (lost).
    const first = 65_500;
    const lostOnPurpose = new Set([65_530, 65_531, 65_532, 65_533, 65_534, 3 + 0x10000]);
    const sent: number[] = [];
    for (let n = first; n < first + 80; n++) {
      if (n === first + 50) await sleep(300); // a pause the arrival times must show
      if (lostOnPurpose.has(n)) continue;
      send(peer, n % 3 === 0 ? 'audio' : 'video', n);
      sent.push(n & 0xffff);
      if (n % 10 === 0) await sleep(5);
    }

    await waitUntil(() => sent.every((s) => statuses(feedbackReceived(peer)).arrivals.has(s)), 10_000, 'feedback for every packet sent');
    const feedback = feedbackReceived(peer);
    const { arrivals, lost } = statuses(feedback);
    for (const n of lostOnPurpose) assert.ok(lost.has(n & 0xffff) && !arrivals.has(n & 0xffff), `${n & 0xffff} reported lost`);
    assert.ok(feedback.every((p) => p.size <= 1200));
    const counts = feedback.map((p) => p.feedbackCount);
    assert.ok(counts.every((c, i) => i === 0 || c > counts[i - 1]!), `feedback packet counts go up: ${counts.join(' ')}`);

    // The pause of 300 ms shows between the packets sent before and after it.
    const before = arrivals.get((first + 49) & 0xffff)!;
    const afterPause = arrivals.get((first + 50) & 0xffff)!;
    assert.ok(afterPause - before >= 250_000, `arrivals ${before} and ${afterPause} µs show the 300 ms pause`);
    assert.ok(afterPause - arrivals.get(first)! < 5_000_000);

    await sleep(600);
    assert.ok(!peer.publisherRtcp('video').some((p) => parseRembBitrate(p) !== undefined), 'no REMB in twcc mode');
  });

  test('hostile extensions (a wrong id, huge jumps, garbage) cost nothing: feedback stays well-formed and follows the stream', async () => {
    const peer = await publishWithTransportCc();
    for (let n = 0; n < 20; n++) send(peer, 'video', n);
    await waitUntil(() => statuses(feedbackReceived(peer)).arrivals.has(19), 10_000, 'feedback before the jump');
    send(peer, 'video', 40_000); // a jump of half the sequence space
    send(peer, 'video', 21, 9); // an id the answer does not name: no sequence number
    const garbage = peer.published.get('video')!.source.next(200);
    garbage[0] = garbage[0]! | 0x10;
    garbage.writeUInt16BE(0xbede, 12);
    garbage.writeUInt16BE(1, 14);
    garbage[16] = (EXTENSION_ID << 4) | 0x0f; // an element of 16 bytes in a block of 4
    peer.published.get('video')!.track.sendMessageBinary(garbage);
    for (let n = 40_001; n < 40_020; n++) send(peer, 'audio', n);
    await waitUntil(() => statuses(feedbackReceived(peer)).arrivals.has(40_019), 10_000, 'feedback after the jump');
    const after = feedbackReceived(peer).filter((p) => p.baseSequence >= 40_000);
    assert.ok(after.length > 0 && after.every((p) => p.statusCount <= 20), 'no report of the 40 000 numbers jumped over');
  });
});
