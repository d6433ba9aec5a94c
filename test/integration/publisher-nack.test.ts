import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readProbe } from '../../bench/client/rtp-source.js';
import type { WorkerStats } from '../../media/worker/protocol.js';
import { sfuForThisFile, sleep, waitUntil } from '../support/peers.js';
import type { TestSfu } from '../support/sfu.js';
import { WithholdingPublisher } from '../support/withholding-publisher.js';

const env = sfuForThisFile();

/** Packets sent after the warm-up, one every PACING_MS. */
const MEASURED_PACKETS = 250;
const PACING_MS = 4;
/** Which of the measured video packets the publisher keeps back until NACKed: a burst, single ones, a pair. */
const WITHHELD = new Set([10, 11, 12, 60, 130, 131, 200]);

/** The worker's latest stats (it reports once a second), once there are any. */
async function workerStats(sfu: TestSfu): Promise<WorkerStats> {
  await waitUntil(() => sfu.node.pool.workers[0]!.stats !== undefined, 5000, 'worker stats');
  return sfu.node.pool.workers[0]!.stats!;
}

describe('loss on the publisher leg is repaired by NACKs to the publisher', { timeout: 60_000 }, () => {
  for (const rtx of [true, false]) {
    test(`withheld packets are NACKed by exactly their sequence numbers, sent again ${rtx ? 'as RTX' : 'on the media SSRC'}, and reach the subscriber: 0 lost`, async (t) => {
      const room = `publisher-nack-${rtx ? 'rtx' : 'plain'}`;
      const alice = await env.peers.join(room, 'alice');
      const [, videoTrack] = await alice.publish({ audio: true, video: 'VP8', rtx });
      await alice.waitPublisherConnected();
      const publisher = new WithholdingPublisher(alice);
      assert.equal(publisher.rtxNegotiated, rtx, rtx ? 'the answer keeps the offered RTX' : 'no RTX offered, none answered');
      const bob = await env.peers.join(room, 'bob');

      // Until bob's subscriber connection carries the video.
      await waitUntil(
        () => {
          publisher.send('video');
          publisher.send('audio');
          return (bob.receivedTrack(videoTrack!.trackId)?.packets ?? 0) >= 5;
        },
        15_000,
        () => `video at bob (${bob.describe()})`,
      );
      const video = bob.receivedTrack(videoTrack!.trackId)!;
      video.keepPackets = true;
      const before = { ...(await workerStats(env.sfu)) };
      const firstCounter = publisher.sent.video;
      const withheldSeqs = new Set<number>();
      for (let i = 0; i < MEASURED_PACKETS; i++) {
        const seq = publisher.send('video', WITHHELD.has(i));
        if (WITHHELD.has(i)) withheldSeqs.add(seq);
        // One audio packet in five; one of them kept back for good (audio negotiated no NACK).
        if (i % 5 === 0) publisher.send('audio', i === 100);
        await sleep(PACING_MS);
      }
      const received = () => new Set(video.rtp.map((p) => readProbe(p)?.counter).filter((c): c is number => c !== undefined && c >= firstCounter));
      await waitUntil(
        () => received().size === MEASURED_PACKETS,
        10_000,
        () => {
          const have = received();
          const lost = [...Array(MEASURED_PACKETS).keys()].filter((i) => !have.has(firstCounter + i));
          return `every packet at bob: lost ${lost.join(',')}; still withheld ${publisher.stillWithheld.join(',')}; NACKed ${publisher.videoNacked.join(',')}`;
        },
      );
      assert.equal(video.retransmissions, 0, 'nothing reached bob as the SFU\'s own RTX: the originals came');
      assert.deepEqual(new Set(publisher.videoNacked), withheldSeqs, 'the NACKs named exactly the withheld packets');
      assert.equal(publisher.resent, WITHHELD.size);
      assert.equal(publisher.audioNacks, 0, 'audio is not NACKed when its codec did not negotiate NACK');

      // The worker's stats (sent once a second) count them.
      await waitUntil(() => env.sfu.node.pool.workers[0]!.stats!.publisherPacketsRecovered - before.publisherPacketsRecovered >= WITHHELD.size, 5000, 'recovered in the stats');
      const after = await workerStats(env.sfu);
      const delta = (key: keyof WorkerStats) => (after[key] as number) - (before[key] as number);
      t.diagnostic(
        `NACKs sent ${delta('publisherNacksSent')}, packets NACKed ${delta('publisherPacketsNacked')}, recovered ${delta('publisherPacketsRecovered')}, given up ${delta('publisherPacketsGivenUp')}`,
      );
      assert.equal(delta('publisherPacketsNacked'), WITHHELD.size);
      assert.equal(delta('publisherPacketsRecovered'), WITHHELD.size);
      assert.ok(delta('publisherNacksSent') >= 4, 'a NACK per gap (the burst and the pair in one each)');
    });
  }
});
