import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guarded, onCallbackError } from '../../media/binding/guard-callbacks.js';

test('a throwing callback is reported, not rethrown (node-datachannel would abort the process)', () => {
  const reported: unknown[] = [];
  onCallbackError((error) => reported.push(error));
  const seen: number[] = [];
  const callback = guarded((n: number) => {
    seen.push(n);
    if (n === 2) throw new Error('boom');
  });
  callback(1);
  assert.doesNotThrow(() => callback(2));
  callback(3);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(reported.length, 1);
  assert.match(String(reported[0]), /boom/);
});
