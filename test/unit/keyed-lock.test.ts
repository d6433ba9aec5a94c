import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedLock } from '../../control/rooms/keyed-lock.js';
import { parseDuration } from '../../control/cli/token-command.js';

test('tasks of one key run one after the other, in order; other keys do not wait', async () => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const task = (name: string, ms: number) => async () => {
    events.push(`start ${name}`);
    await sleep(ms);
    events.push(`end ${name}`);
    return name;
  };
  const results = Promise.all([lock.run('a', task('a1', 20)), lock.run('a', task('a2', 1)), lock.run('b', task('b1', 1))]);
  assert.deepEqual(await results, ['a1', 'a2', 'b1']);
  assert.ok(events.indexOf('end a1') < events.indexOf('start a2'), events.join(', '));
  assert.ok(events.indexOf('end b1') < events.indexOf('end a1'), 'b did not wait for a');
  await sleep(0);
  assert.equal(lock.size, 0, 'keys are forgotten when idle');
});

test('a failing task does not block the next one', async () => {
  const lock = new KeyedLock();
  const failed = lock.run('a', async () => {
    throw new Error('no');
  });
  await assert.rejects(failed, /no/);
  assert.equal(await lock.run('a', async () => 'next'), 'next');
});

test('token lifetimes', () => {
  assert.equal(parseDuration('3600'), 3600);
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('6h'), 21600);
  assert.equal(parseDuration('7d'), 604800);
  for (const bad of ['0', '', '1w', '-5', '1.5h', 'h']) assert.equal(parseDuration(bad), undefined, bad);
});
