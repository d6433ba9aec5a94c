import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { RateLimitedLog } from '../../control/logging/rate-limited-log.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

test('a storm of one warning writes the burst, then one summary per window', () => {
  const { log, lines } = capture();
  let now = 0;
  const limited = new RateLimitedLog(log, { intervalMs: 1000, burst: 3 }, () => now);
  for (let i = 0; i < 10_000; i++) limited.warn('bad-candidate', { participant: 'p' }, 'bad candidate');
  assert.equal(lines.length, 3);
  now = 1000;
  limited.warn('bad-candidate', { participant: 'p' }, 'bad candidate');
  assert.equal(lines.length, 5, 'the summary of the last window, then the first line of the new one');
  assert.equal(lines[3]!.suppressed, 9997);
  assert.match(String(lines[3]!.msg), /and 9997 more like it/);
  limited.flush();
});

test('keys are limited separately; flush writes what is pending', () => {
  const { log, lines } = capture();
  const limited = new RateLimitedLog(log, { intervalMs: 60_000, burst: 1 }, () => 0);
  limited.warn('a', {}, 'a');
  limited.warn('a', {}, 'a');
  limited.error('b', {}, 'b');
  assert.deepEqual(lines.map((l) => l.msg), ['a', 'b']);
  limited.flush();
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.suppressed, 1);
});

test('many distinct keys share one overflow window', () => {
  const { log, lines } = capture();
  const limited = new RateLimitedLog(log, { intervalMs: 60_000, burst: 1 }, () => 0);
  for (let i = 0; i < 5000; i++) limited.warn(`key-${i}`, {}, 'x');
  assert.ok(lines.length <= 257, `${lines.length} lines`);
  limited.flush();
});
