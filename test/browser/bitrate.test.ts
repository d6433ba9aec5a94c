import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type * as ShoalClientModule from '../../control/web/shoal-client.js';
import { PUBLISHER_FEEDBACK_CHOICES } from '../../media/worker/protocol.js';
import { connectionStats, launchChromium, openPage, sleep } from '../support/chromium.js';
import { startSfu } from '../support/sfu.js';

const MIN_BITRATE = 1_000_000;
const RAMP_DEADLINE_S = 15;
const HOLD_S = 5;
const SAMPLE_MS = 500;

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

for (const feedback of PUBLISHER_FEEDBACK_CHOICES) {
  test(`a Chromium publisher of 720p ramps up to 1 Mbps and stays there (--publisher-feedback ${feedback})`, { timeout: 60_000 }, async (t) => {
    const sfu = await startSfu({ media: { publisherFeedback: feedback } });
    try {
      const { page, problems } = await openPage(browser, sfu.httpUrl);
      await page.evaluate(async () => {
        const moduleUrl = '/shoal-client.js';
        const { ShoalClient } = (await import(moduleUrl)) as typeof ShoalClientModule;
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
        const client = await ShoalClient.connect(`ws://${location.host}/ws`);
        (window as unknown as { shoalTest: unknown }).shoalTest = { client };
        await client.join('bitrate', 'publisher');
        await client.publish(stream);
      });
      const answer = await page.evaluate(() => (window as unknown as { shoalTest: { client: { publisherPc?: RTCPeerConnection } } }).shoalTest.client.publisherPc?.remoteDescription?.sdp ?? '');
      assert.equal(answer.includes('transport-wide-cc'), feedback === 'twcc', 'the answer keeps transport-cc exactly in twcc mode');

      // targetBitrate: what the encoder is asked for; availableOutgoingBitrate: Chrome's bandwidth estimate
      // (from the REMB, or from its own controller on the transport-cc feedback). The fake camera sends
      // ~400 kbps whatever the target, so the bytes sent say little about the controller.
      const series: string[] = [];
      let reachedAt: number | undefined;
      let estimateReachedAt: number | undefined;
      let lowAfterReaching: string | undefined;
      let lastBytes = 0;
      const start = Date.now();
      for (let sample = 1; ; sample++) {
        await sleep(start + sample * SAMPLE_MS - Date.now());
        const elapsed = (Date.now() - start) / 1000;
        const stats = await connectionStats(page, 'publisherPc', 'shoalTest.client');
        const video = stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
        const pair = stats.find((s) => s.type === 'candidate-pair' && s.nominated);
        const target = Number(video?.targetBitrate ?? 0);
        const estimate = Number(pair?.availableOutgoingBitrate ?? 0);
        const bytes = Number(video?.bytesSent ?? 0);
        const sending = ((bytes - lastBytes) * 8) / (SAMPLE_MS / 1000);
        lastBytes = bytes;
        if (sample % 2 === 0) {
          series.push(
            `${elapsed.toFixed(1)}s target ${(target / 1e6).toFixed(2)} estimate ${(estimate / 1e6).toFixed(2)} ` +
              `sending ${(sending / 1e6).toFixed(2)} Mbps (${video?.frameWidth ?? '?'}x${video?.frameHeight ?? '?'}, ` +
              `${video?.framesPerSecond ?? '?'} fps, limited by ${video?.qualityLimitationReason ?? '?'})`,
          );
        }
        if (estimateReachedAt === undefined && estimate >= MIN_BITRATE) estimateReachedAt = elapsed;
        if (reachedAt === undefined) {
          if (target >= MIN_BITRATE) reachedAt = elapsed;
          else if (elapsed >= RAMP_DEADLINE_S) break;
        } else {
          if (target < MIN_BITRATE) lowAfterReaching ??= `${elapsed.toFixed(1)}s target ${target}`;
          if (elapsed >= reachedAt + HOLD_S) break;
        }
      }
      t.diagnostic(
        `${feedback}: targetBitrate >= 1 Mbps after ${reachedAt?.toFixed(1) ?? 'never'} s, ` +
          `availableOutgoingBitrate >= 1 Mbps after ${estimateReachedAt?.toFixed(1) ?? 'never'} s (from publish)`,
      );
      t.diagnostic(`once a second: ${series.join('; ')}`);
      assert.ok(reachedAt !== undefined, `targetBitrate never reached ${MIN_BITRATE} bps in ${RAMP_DEADLINE_S} s: ${series.join('; ')}`);
      assert.equal(lowAfterReaching, undefined, `targetBitrate fell below ${MIN_BITRATE} bps after reaching it: ${series.join('; ')}`);
      assert.deepEqual(problems, []);
      await page.context().close();
    } finally {
      await sfu.stop();
    }
  });
}
