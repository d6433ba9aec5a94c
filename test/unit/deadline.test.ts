import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDeadline } from '../../media/transport/deadline.js';

/** Unhandled rejections seen while `run` runs (in a media worker each one would end the worker). */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await run();
    await sleep(10);
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

test('a wait resolves with what its callback reports', async () => {
  let report: (value: string) => void = () => undefined;
  const wait = withDeadline<string>((resolve) => (report = resolve), 1000, 'answer');
  report('v=0');
  assert.equal(await wait.promise, 'v=0');
});

test('a wait nobody reports to rejects at its deadline, naming what was awaited', async () => {
  const wait = withDeadline<string>(() => undefined, 20, 'answer');
  await assert.rejects(wait.promise, /no answer within 20 ms/);
});

test('a cancelled wait never rejects, even when nobody awaits it (the worker crash of issue 7)', async () => {
  const unhandled = await unhandledDuring(async () => {
    const wait = withDeadline<string>(() => undefined, 20, 'answer');
    wait.cancel();
    await sleep(60);
  });
  assert.deepEqual(unhandled, []);
});

test('a wait that times out with nobody awaiting it is no unhandled rejection', async () => {
  const unhandled = await unhandledDuring(async () => {
    withDeadline<string>(() => undefined, 10, 'answer');
    await sleep(40);
  });
  assert.deepEqual(unhandled, []);
});

test('cancel with a reason rejects whoever awaits; a report after that changes nothing', async () => {
  let report: (value: string) => void = () => undefined;
  const wait = withDeadline<string>((resolve) => (report = resolve), 1000, 'answer');
  wait.cancel(new Error('connection closed'));
  report('late');
  await assert.rejects(wait.promise, /connection closed/);
});
