import assert from 'node:assert/strict';
import { after, afterEach, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors, latestTrackId, MediaPeer, waitUntil, type MediaPeerOptions } from '../../bench/client/media-peer.js';
import type { ServerEvent } from '../../bench/client/signaling-client.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import { mediaMid, parseSdp, type SdpMedia } from '../../media/sdp/sdp.js';
import { startSfu, type SfuOverrides, type TestSfu } from './sfu.js';

// The test clients' libdatachannel logs: SHOAL_TEST_CLIENT_LOG=Info|Debug|..., warnings with SHOAL_TEST_LOG.
const clientLogLevel = process.env.SHOAL_TEST_CLIENT_LOG ?? (process.env.SHOAL_TEST_LOG ? 'Warning' : undefined);
if (clientLogLevel) {
  nodeDataChannel.initLogger(clientLogLevel as 'Warning', (level, message) => process.stderr.write(`client libdatachannel ${level}: ${message}\n`));
}

/**
 * Joins MediaPeers to one SFU and closes them all at the end of a test file
 * (peers hold UDP sockets and native handles).
 */
export class Peers {
  private readonly all: MediaPeer[] = [];

  constructor(private readonly url: string) {}

  async join(room: string, identity: string, options: Partial<MediaPeerOptions> = {}): Promise<MediaPeer> {
    const peer = await MediaPeer.join({ url: this.url, room, identity, ...options });
    this.all.push(peer);
    return peer;
  }

  /** Joins and publishes audio+VP8 video, and starts sending media. */
  async publisher(room: string, identity: string): Promise<{ peer: MediaPeer; trackIds: string[] }> {
    return startPublishing(await this.join(room, identity));
  }

  closeAll(): void {
    for (const peer of this.all.splice(0)) peer.close();
  }
}

/** Publishes audio and VP8 video on a joined peer, waits until its connection is up and starts sending media. */
export async function startPublishing(peer: MediaPeer): Promise<{ peer: MediaPeer; trackIds: string[] }> {
  const tracks = await peer.publish({ audio: true, video: 'VP8' });
  await peer.waitPublisherConnected();
  peer.startMedia();
  return { peer, trackIds: tracks.map((t) => t.trackId) };
}

/** Packet counts of `trackIds` at `peer` now, then after `ms`: for "still flowing" / "stopped" checks. */
export async function packetsDuring(peer: MediaPeer, trackIds: string[], ms: number): Promise<number> {
  const count = () => trackIds.reduce((sum, id) => sum + (peer.receivedTrack(id)?.packets ?? 0), 0);
  const before = count();
  await sleep(ms);
  return count() - before;
}

export function errorCode(event: ServerEvent): string | undefined {
  return event.message === 'error' ? (event.error as { code: string }).code : undefined;
}

export { setTimeout as sleep } from 'node:timers/promises';

/** The media section of `mid` in an SDP, read with the SFU's own SDP model. */
export function mediaSection(sdp: string, mid: string): SdpMedia | undefined {
  return parseSdp(sdp).media.find((m) => mediaMid(m) === mid);
}

/** Keyframe requests (PLI/FIR) for `ssrc` in RTCP packets a publisher got. */
export function plisFor(rtcp: Buffer[], ssrc: number): number {
  return rtcp.reduce((n, packet) => n + parseFeedback(packet).keyframe.filter((s) => s === ssrc).length, 0);
}

export { latestTrackId, waitUntil };

/**
 * The hooks of a test file that works against one SFU: it starts before the
 * first test, the peers a test joined are closed after it, and at the end the
 * SFU stops and the clients' binding is released (or the process would not exit).
 */
export function sfuForThisFile(overrides: SfuOverrides = {}): { sfu: TestSfu; peers: Peers } {
  const env = {} as { sfu: TestSfu; peers: Peers };
  before(async () => {
    env.sfu = await startSfu(overrides);
    env.peers = new Peers(env.sfu.url);
  });
  afterEach(() => env.peers.closeAll());
  after(async () => {
    env.peers?.closeAll();
    await env.sfu?.stop();
    nodeDataChannel.cleanup();
    assert.deepEqual(callbackErrors, [], 'no client callback threw');
  });
  return env;
}
