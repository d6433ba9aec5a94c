import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as ShoalClientModule from '../../control/web/shoal-client.js';
import { connectionStats, chromiumForThisFile, openPage, sleep } from '../support/chromium.js';

const env = chromiumForThisFile();

const MIN_BITRATE = 1_000_000;
const RAMP_DEADLINE_S = 15;
const HOLD_S = 5;

test('a Chromium publisher of 720p ramps up to 1 Mbps and stays there', { timeout: 45_000 }, async (t) => {
  const { page, problems } = await openPage(env.browser, env.sfu.httpUrl);
  await page.evaluate(async () => {
    const moduleUrl = '/shoal-client.js';
    const { ShoalClient } = (await import(moduleUrl)) as typeof ShoalClientModule;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    const client = await ShoalClient.connect(`ws://${location.host}/ws`);
    (window as unknown as { shoalTest: unknown }).shoalTest = { client };
    await client.join('bitrate', 'publisher');
    await client.publish(stream);
  });

  const series: string[] = [];
  let reachedAt: number | undefined;
  let lowAfterReaching: string | undefined;
  const start = Date.now();
  for (let second = 1; second <= RAMP_DEADLINE_S + HOLD_S; second++) {
    await sleep(start + second * 1000 - Date.now());
    const stats = await connectionStats(page, 'publisherPc', 'shoalTest.client');
    const video = stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
    // The bandwidth estimate Chrome derived from the server's REMB.
    const pair = stats.find((s) => s.type === 'candidate-pair' && s.nominated);
    const target = Number(video?.targetBitrate ?? 0);
    series.push(
      `${second}s ${(target / 1e6).toFixed(2)} Mbps (${video?.frameWidth ?? '?'}x${video?.frameHeight ?? '?'}, ` +
        `${video?.framesPerSecond ?? '?'} fps, limited by ${video?.qualityLimitationReason ?? '?'}, ` +
        `estimate ${(Number(pair?.availableOutgoingBitrate ?? 0) / 1e6).toFixed(2)} Mbps)`,
    );
    if (reachedAt === undefined) {
      if (target >= MIN_BITRATE) reachedAt = second;
      else if (second >= RAMP_DEADLINE_S) break;
    } else {
      if (target < MIN_BITRATE) lowAfterReaching ??= series.at(-1);
      if (second >= reachedAt + HOLD_S) break;
    }
  }
  t.diagnostic(`outbound video targetBitrate, once a second: ${series.join('; ')}`);
  assert.ok(reachedAt !== undefined, `targetBitrate never reached ${MIN_BITRATE} bps in ${RAMP_DEADLINE_S} s: ${series.join('; ')}`);
  assert.equal(lowAfterReaching, undefined, `targetBitrate fell below ${MIN_BITRATE} bps after reaching it`);
  assert.deepEqual(problems, []);
});
