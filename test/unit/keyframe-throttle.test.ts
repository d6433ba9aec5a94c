import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { KeyframeThrottle } from '../../media/rtp/keyframe-throttle.js';

describe('KeyframeThrottle', () => {
  let clock = 0;
  let sent: number[] = [];
  const now = () => clock;
  /** Advances the injected clock and the mocked timers together. */
  const advance = (ms: number) => {
    clock += ms;
    mock.timers.tick(ms);
  };
  const throttle = (intervalMs = 1000) => new KeyframeThrottle(() => sent.push(clock), intervalMs, now);

  beforeEach(() => {
    clock = 10_000;
    sent = [];
    mock.timers.enable({ apis: ['setTimeout'] });
  });

  afterEach(() => {
    mock.timers.reset();
  });

  test('the first request is sent at once', () => {
    const t = throttle();
    t.request();
    assert.deepEqual(sent, [10_000]);
  });

  test('the first request is sent at once even when the clock starts at 0', () => {
    clock = 0;
    const t = throttle();
    t.request();
    assert.deepEqual(sent, [0]);
  });

  test('requests within the interval coalesce into one sent when the interval ends', () => {
    const t = throttle(1000);
    t.request();
    advance(100);
    t.request();
    advance(200);
    t.request();
    t.request();
    assert.deepEqual(sent, [10_000], 'nothing more before the interval ends');
    advance(699);
    assert.deepEqual(sent, [10_000]);
    advance(1);
    assert.deepEqual(sent, [10_000, 11_000]);
    advance(5000);
    assert.deepEqual(sent, [10_000, 11_000], 'exactly one deferred request');
  });

  test('a request after the interval has passed is sent at once', () => {
    const t = throttle(1000);
    t.request();
    advance(1000);
    t.request();
    assert.deepEqual(sent, [10_000, 11_000]);
    advance(1500);
    t.request();
    assert.deepEqual(sent, [10_000, 11_000, 12_500]);
  });

  test('the interval restarts from a deferred send', () => {
    const t = throttle(1000);
    t.request(); // 10000
    advance(500);
    t.request(); // deferred to 11000
    advance(500);
    assert.deepEqual(sent, [10_000, 11_000]);
    advance(100);
    t.request(); // deferred to 12000
    advance(899);
    assert.deepEqual(sent, [10_000, 11_000]);
    advance(1);
    assert.deepEqual(sent, [10_000, 11_000, 12_000]);
  });

  test('at most one request per interval under a steady stream of requests', () => {
    const t = throttle(1000);
    for (let i = 0; i < 100; i++) {
      t.request();
      advance(50);
    }
    // 5000 ms of requests every 50 ms: one at 10000, then one at each interval end.
    assert.deepEqual(sent, [10_000, 11_000, 12_000, 13_000, 14_000, 15_000]);
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]! - sent[i - 1]! >= 1000);
  });

  test('close cancels a pending request', () => {
    const t = throttle(1000);
    t.request();
    advance(10);
    t.request();
    t.close();
    advance(5000);
    assert.deepEqual(sent, [10_000]);
  });

  test('requests after close are ignored', () => {
    const t = throttle(1000);
    t.close();
    t.request();
    advance(5000);
    t.request();
    assert.deepEqual(sent, []);
  });

  test('close twice is harmless', () => {
    const t = throttle(1000);
    t.close();
    assert.doesNotThrow(() => t.close());
  });

  test('a zero interval sends every request at once', () => {
    const t = throttle(0);
    t.request();
    t.request();
    t.request();
    assert.deepEqual(sent, [10_000, 10_000, 10_000]);
  });

  test('two throttles are independent', () => {
    const a = throttle(1000);
    const sentB: number[] = [];
    const b = new KeyframeThrottle(() => sentB.push(clock), 1000, now);
    a.request();
    b.request();
    advance(10);
    a.request();
    b.close();
    advance(990);
    assert.deepEqual(sent, [10_000, 11_000]);
    assert.deepEqual(sentB, [10_000]);
  });
});
