import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { connectionStats, joinWithDemoPage, chromiumForThisFile, openPage, sleep, type StatsEntry } from '../support/chromium.js';

const env = chromiumForThisFile();

/** Largest A/V offset accepted: lip sync is judged out of step past about 45 ms (audio early) to 125 ms (late). */
const MAX_OFFSET_MS = 100;
const SAMPLES = 10;

/** The subscriber's inbound-rtp entries of one publisher's audio and video. */
async function inboundOf(page: Page, identity: string): Promise<{ audio?: StatsEntry; video?: StatsEntry }> {
  const tracks = await page.evaluate(
    (who) => [...(window.shoalDemo.client?.remoteTracks.values() ?? [])].filter((t) => t.identity === who).map(({ mid, kind }) => ({ mid, kind })),
    identity,
  );
  const stats = await connectionStats(page, 'subscriberPc');
  const find = (kind: string) => {
    const mid = tracks.find((t) => t.kind === kind)?.mid;
    return mid === undefined ? undefined : stats.find((s) => s.type === 'inbound-rtp' && s.mid === mid);
  };
  return { audio: find('audio'), video: find('video') };
}

test("a Chromium subscriber plays a Chromium publisher's audio and video in sync; the publisher sees its round-trip time", { timeout: 60_000 }, async (t) => {
  const room = 'av-sync';
  const alice = await openPage(env.browser, env.sfu.httpUrl);
  await joinWithDemoPage(alice.page, room, 'alice');
  const bob = await openPage(env.browser, env.sfu.httpUrl);
  await joinWithDemoPage(bob.page, room, 'bob');

  // Both streams playing, each with an estimated playout time: it exists only once SRs map the stream's RTP time to NTP.
  const deadline = Date.now() + 20_000;
  let inbound = await inboundOf(bob.page, 'alice');
  const ready = () =>
    inbound.audio?.estimatedPlayoutTimestamp !== undefined &&
    inbound.video?.estimatedPlayoutTimestamp !== undefined &&
    Number(inbound.video?.framesDecoded ?? 0) > 0;
  while (!ready() && Date.now() < deadline) {
    await sleep(250);
    inbound = await inboundOf(bob.page, 'alice');
  }
  assert.ok(
    ready(),
    `estimated playout times of alice's audio and video at bob (${JSON.stringify(inbound.audio?.estimatedPlayoutTimestamp)}, ${JSON.stringify(inbound.video?.estimatedPlayoutTimestamp)}); problems: ${bob.problems}`,
  );

  // Chrome's synchroniser moves the streams' delays gradually: give it a few seconds, then sample.
  await sleep(4000);
  const offsets: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    inbound = await inboundOf(bob.page, 'alice');
    offsets.push(Number(inbound.audio!.estimatedPlayoutTimestamp) - Number(inbound.video!.estimatedPlayoutTimestamp));
    await sleep(500);
  }
  const sorted = [...offsets].sort((a, b) => a - b);
  const median = sorted[Math.floor(SAMPLES / 2)]!;
  t.diagnostic(`audio − video estimated playout time at the subscriber, ms: ${offsets.map((o) => o.toFixed(0)).join(', ')} (median ${median.toFixed(0)})`);
  t.diagnostic(
    `subscriber: audio jitterBufferDelay/emitted ${((Number(inbound.audio!.jitterBufferDelay) / Number(inbound.audio!.jitterBufferEmittedCount)) * 1000).toFixed(0)} ms, ` +
      `video ${((Number(inbound.video!.jitterBufferDelay) / Number(inbound.video!.jitterBufferEmittedCount)) * 1000).toFixed(0)} ms`,
  );
  assert.ok(Math.abs(median) < MAX_OFFSET_MS, `audio and video ${median.toFixed(0)} ms apart (samples ${offsets.map((o) => o.toFixed(0))})`);

  // The publisher's view of its sends: the SFU's receiver reports give it a round-trip time for each.
  let remote: StatsEntry[] = [];
  const rttDeadline = Date.now() + 10_000;
  while (Date.now() < rttDeadline) {
    remote = (await connectionStats(alice.page, 'publisherPc')).filter((s) => s.type === 'remote-inbound-rtp');
    if (['audio', 'video'].every((kind) => remote.some((s) => s.kind === kind && typeof s.roundTripTime === 'number'))) break;
    await sleep(500);
  }
  for (const kind of ['audio', 'video']) {
    const entry = remote.find((s) => s.kind === kind);
    assert.ok(entry && typeof entry.roundTripTime === 'number', `alice's remote-inbound-rtp ${kind} with a roundTripTime: ${JSON.stringify(entry)}`);
    assert.ok(entry.roundTripTime >= 0 && entry.roundTripTime < 1, `${kind} roundTripTime ${String(entry.roundTripTime)} s`);
    t.diagnostic(
      `publisher remote-inbound-rtp ${kind}: roundTripTime ${(Number(entry.roundTripTime) * 1000).toFixed(1)} ms, ` +
        `packetsLost ${String(entry.packetsLost)}, fractionLost ${String(entry.fractionLost)}, jitter ${String(entry.jitter)} s, measurements ${String(entry.roundTripTimeMeasurements)}`,
    );
  }
  assert.deepEqual(bob.problems, []);
  assert.deepEqual(alice.problems, []);
});
