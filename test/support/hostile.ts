import assert from 'node:assert/strict';
import nodeDataChannel, { type Track } from 'node-datachannel';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { parseSdp, writeSdp, type SdpMedia } from '../../media/sdp/sdp.js';
import type { MediaPeer, ReceivedTrack } from '../../bench/client/media-peer.js';
import type { TestSfu } from './sfu.js';
import type { Peers } from './peers.js';

/**
 * Pieces for tests of hostile clients: real offers to mangle, and a bystander
 * publisher/subscriber pair whose packet flow shows whether anything else on
 * the worker was disturbed.
 */

/** An SDP whose fingerprint names another certificate: its DTLS handshake must fail. */
export function wrongFingerprint(sdp: string): string {
  return sdp.replace(/(a=fingerprint:\S+ )([0-9A-F])/, (_m, head: string, digit: string) => head + (digit === 'A' ? 'B' : 'A'));
}

/** A real node-datachannel publisher offer (Opus + VP8, or `videoTracks` VP8 m-lines); the connection is closed again. */
export async function publisherOfferSdp(options: { audio?: boolean; videoTracks?: number } = {}): Promise<string> {
  const pc = new nodeDataChannel.PeerConnection('hostile-offer', { iceServers: [], bindAddress: '127.0.0.1' });
  const tracks: Track[] = [];
  const offer = new Promise<string>((resolve) => pc.onLocalDescription((sdp, type) => type === 'offer' && resolve(sdp)));
  let mid = 0;
  if (options.audio ?? true) {
    const audio = new nodeDataChannel.Audio(String(mid++), 'SendOnly');
    audio.addOpusCodec(111);
    audio.addSSRC(1000, 'hostile');
    tracks.push(keepUntilClosed(pc.addTrack(audio)));
  }
  for (let i = 0; i < (options.videoTracks ?? 1); i++) {
    const video = new nodeDataChannel.Video(String(mid++), 'SendOnly');
    video.addVideoCodec(96, 'VP8');
    video.addSSRC(2000 + i, 'hostile');
    tracks.push(keepUntilClosed(pc.addTrack(video)));
  }
  pc.setLocalDescription();
  const sdp = await offer;
  for (const track of tracks) track.close();
  pc.close();
  return sdp;
}

/**
 * A publisher offer with `count` sending VP8 m-lines, each as short as
 * libdatachannel accepts (ICE credentials at session level): 300 of them fit in
 * about 30 KB, well inside one signaling frame.
 */
export function manyVideoMLinesOffer(base: string, count: number): string {
  const sdp = parseSdp(base);
  const first = sdp.media[0]!;
  const session = [...sdp.session.filter((l) => !l.startsWith('a=group:')), ...first.lines.filter((l) => /^a=(ice-ufrag|ice-pwd):/.test(l))];
  const mids = Array.from({ length: count }, (_, i) => String(i));
  const media: SdpMedia[] = mids.map((mid) => ({
    kind: 'video',
    port: 9,
    protocol: 'UDP/TLS/RTP/SAVPF',
    formats: ['96'],
    lines: [`a=mid:${mid}`, 'a=sendonly', 'a=rtcp-mux', 'a=rtpmap:96 VP8/90000', 'a=setup:actpass'],
  }));
  return writeSdp({ session: [...session, `a=group:BUNDLE ${mids.join(' ')}`], media });
}

/** Gap and rate of the packets one subscriber receives, over a window started by `start`. */
export interface FlowReport {
  packets: number;
  seconds: number;
  packetsPerSecond: number;
  /** Largest time between two packets of the video track, ms. */
  maxGapMs: number;
}

/**
 * A publisher and a subscriber in a room of their own on the SFU under test,
 * with media flowing between them: they must never notice an attack.
 */
export class Bystanders {
  private startedAt = 0;
  private packetsAtStart = 0;
  private failures: string[] = [];
  /** The video track as received when the window started (it stays readable if the connection is dropped). */
  private video: ReceivedTrack | undefined;

  private constructor(
    readonly publisher: MediaPeer,
    readonly subscriber: MediaPeer,
    readonly trackIds: string[],
  ) {
    for (const peer of [publisher, subscriber]) {
      peer.signaling.onMessage((event) => {
        if (event.message === 'error') this.failures.push(`${peer.options.identity}: ${JSON.stringify(event.error)}`);
      });
    }
  }

  static async join(peers: Peers, room = 'bystanders'): Promise<Bystanders> {
    const { peer: publisher, trackIds } = await peers.publisher(room, 'bystander-pub');
    const subscriber = await peers.join(room, 'bystander-sub');
    for (const id of trackIds) await subscriber.waitForPackets(id, 20);
    return new Bystanders(publisher, subscriber, trackIds);
  }

  /** Starts a measurement window. */
  start(): void {
    this.startedAt = performance.now();
    this.packetsAtStart = this.packets();
    // By its latest id: a publisher connection that failed on loopback is published again under new ids.
    this.video = this.subscriber.receivedTrack(this.trackIds[1]!)!;
    this.video.maxGapMs = 0;
  }

  /** What arrived since `start` (and the gap up to now, so a flow that stopped shows). */
  report(): FlowReport {
    const now = performance.now();
    const video = this.video!;
    const seconds = (now - this.startedAt) / 1000;
    const packets = this.packets() - this.packetsAtStart;
    return { packets, seconds, packetsPerSecond: packets / seconds, maxGapMs: Math.max(video.maxGapMs, now - video.lastPacketAt) };
  }

  /** Checks that the pair received without a gap longer than `maxGapMs` and was never sent an error. */
  assertUndisturbed(maxGapMs: number): FlowReport {
    const report = this.report();
    assert.deepEqual(this.failures, [], 'the bystanders got no error');
    assert.ok(report.maxGapMs < maxGapMs, `largest gap at the bystander ${report.maxGapMs.toFixed(0)} ms`);
    return report;
  }

  private packets(): number {
    return this.trackIds.reduce((sum, id) => sum + (this.subscriber.receivedTrack(id)?.packets ?? 0), 0);
  }
}

/** The SFU's media workers now; `assertSameWorkers` fails when one was replaced (it had failed). */
export function workersOf(sfu: TestSfu): readonly unknown[] {
  return [...sfu.node.pool.workers];
}

export function assertSameWorkers(sfu: TestSfu, before: readonly unknown[]): void {
  assert.deepEqual([...sfu.node.pool.workers], before, 'no media worker was replaced');
  assert.ok(sfu.node.pool.workers.every((w) => w.alive), 'every media worker is alive');
}

/**
 * A generic NACK (RFC 4585 6.2.1) with `fcis` entries, each asking for 17
 * packets (PID and every BLP bit), cycling back through the `span` sequence
 * numbers before `lastSeq`: the heaviest request a packet of that size can make.
 */
export function nackStormPacket(senderSsrc: number, mediaSsrc: number, lastSeq: number, fcis: number, span = 510): Buffer {
  const packet = Buffer.alloc(12 + 4 * fcis);
  packet[0] = 0x80 | 1;
  packet[1] = 205;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  const entries = Math.max(1, Math.floor(span / 17));
  for (let i = 0; i < fcis; i++) {
    packet.writeUInt16BE((lastSeq - 17 * ((i % entries) + 1) + 0x10000) & 0xffff, 12 + 4 * i);
    packet.writeUInt16BE(0xffff, 14 + 4 * i);
  }
  return packet;
}

/** Retransmissions the SFU's workers counted so far (from their last stats report, about once a second). */
export function retransmissionsOf(sfu: TestSfu): number {
  return sfu.node.pool.workers.reduce((sum, w) => sum + (w.stats?.retransmissions ?? 0), 0);
}
