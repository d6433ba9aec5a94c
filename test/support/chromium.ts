import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSfu, type TestSfu } from './sfu.js';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = process.env.SHOAL_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for real-browser WebRTC tests as root in a loopback-only network
 * namespace (see ../shared/STACK-FACTS.md): fake camera and microphone with no
 * permission prompt, ICE candidates on 127.0.0.1, no background traffic.
 */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Pages of one test share a browser; none of them is in the foreground.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** Starts Chromium; fails with the fix when it is not installed (browser tests are never skipped). */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 20_000 });
}

/**
 * The node's page on `http://localhost:PORT/` ("localhost" is a secure context,
 * so getUserMedia works over plain HTTP). Page errors and console errors are
 * collected in `problems` for assertion messages.
 */
export async function openPage(browser: Browser, httpUrl: string, path = '/'): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  const port = new URL(httpUrl).port;
  await page.goto(`http://localhost:${port}${path}`);
  return { page, problems };
}

/** Joins through the demo page's form; resolves once the page says it is in the room. */
export async function joinWithDemoPage(page: Page, room: string, identity: string): Promise<void> {
  await page.fill('input[name=room]', room);
  await page.fill('input[name=identity]', identity);
  await page.click('#join');
  await page.waitForFunction(
    (want) => document.querySelector('#status')?.textContent?.startsWith(want) || document.querySelector('#status')?.textContent?.startsWith('Could not'),
    'In room',
    { timeout: 15_000 },
  );
  const status = await page.textContent('#status');
  if (!status?.startsWith('In room')) throw new Error(`${identity} did not join: ${status}`);
}

/** One RTCStats entry, as plain JSON. */
export type StatsEntry = Record<string, unknown> & { id: string; type: string };

/** getStats() of the demo page's (or a test's) client connection, as an array of plain objects. */
export function connectionStats(page: Page, which: 'publisherPc' | 'subscriberPc', global = 'shoalDemo.client'): Promise<StatsEntry[]> {
  return page.evaluate(
    async ({ which, global }) => {
      let holder: unknown = window;
      for (const key of global.split('.')) holder = (holder as Record<string, unknown> | undefined)?.[key];
      const pc = (holder as Record<string, RTCPeerConnection | undefined> | undefined)?.[which];
      if (!pc) return [];
      const report = await pc.getStats();
      return [...report.values()].map((entry) => JSON.parse(JSON.stringify(entry)) as StatsEntry);
    },
    { which, global },
  );
}

export { setTimeout as sleep } from 'node:timers/promises';

/** The hooks of a browser test file: an SFU and a Chromium, started before the tests and stopped after. */
export function chromiumForThisFile(): { sfu: TestSfu; browser: Browser } {
  const env = {} as { sfu: TestSfu; browser: Browser };
  before(async () => {
    env.sfu = await startSfu();
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    await env.sfu?.stop();
  });
  return env;
}
