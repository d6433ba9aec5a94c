import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, DEFAULT_RECONNECT, FINAL_JOIN_ERRORS, nodeForAttempt, reconnectSettings } from '../../control/web/reconnect-policy.js';

describe('backoffDelay', () => {
  const settings = { initialDelayMs: 250, maxDelayMs: 10_000 };

  test('the first attempt waits up to the initial delay, spread by the jitter', () => {
    assert.equal(backoffDelay(1, settings, () => 0), 0);
    assert.equal(backoffDelay(1, settings, () => 0.5), 125);
    assert.equal(backoffDelay(1, settings, () => 0.999), 249);
  });

  test('later attempts wait half to all of a doubling base', () => {
    assert.deepEqual(
      [2, 3, 4, 5].map((attempt) => [backoffDelay(attempt, settings, () => 0), backoffDelay(attempt, settings, () => 0.999)]),
      [
        [250, 499],
        [500, 999],
        [1000, 1999],
        [2000, 3998],
      ],
    );
  });

  test('never over the maximum, whatever the attempt', () => {
    for (const attempt of [7, 8, 20, 100, 10_000]) {
      const delay = backoffDelay(attempt, settings, () => 0.999);
      assert.ok(delay <= 10_000 && delay >= 5000, `attempt ${attempt}: ${delay}`);
    }
    assert.equal(backoffDelay(1, { initialDelayMs: 5000, maxDelayMs: 100 }, () => 0.9), 100);
  });
});

describe('nodeForAttempt', () => {
  test('round robin from the first node, wrapping round the list', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((attempt) => nodeForAttempt(1, attempt, 3)), [1, 2, 0, 1, 2]);
  });

  test('a lost last node is followed by the first', () => {
    assert.equal(nodeForAttempt(3, 1, 3), 0);
  });

  test('a single node is always tried again', () => {
    assert.deepEqual([1, 2, 3].map((attempt) => nodeForAttempt(1, attempt, 1)), [0, 0, 0]);
  });
});

describe('reconnectSettings', () => {
  test('defaults fill what is not given (undefined included)', () => {
    assert.deepEqual(reconnectSettings(), DEFAULT_RECONNECT);
    assert.deepEqual(reconnectSettings({ maxDelayMs: 2000, pingIntervalMs: undefined }), { ...DEFAULT_RECONNECT, maxDelayMs: 2000 });
  });

  test('negative or non-finite numbers are refused', () => {
    assert.throws(() => reconnectSettings({ initialDelayMs: -1 }), RangeError);
    assert.throws(() => reconnectSettings({ pingTimeoutMs: Number.NaN }), RangeError);
  });
});

test('removals on purpose and refused credentials are final, lost nodes are not', () => {
  for (const code of ['TOKEN_EXPIRED', 'TOKEN_INVALID', 'PERMISSION_DENIED', 'INVALID_NAME']) assert.ok(FINAL_JOIN_ERRORS.has(code), code);
  for (const code of ['CLOSED', 'TIMEOUT', 'SHUTTING_DOWN', 'WORKER_FAILED', 'INTERNAL', 'ROOM_FULL', 'TOO_MANY_CONNECTIONS', 'UNAVAILABLE']) assert.ok(!FINAL_JOIN_ERRORS.has(code), code);
});
