import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PublisherBitrateEstimator } from '../../media/rtp/bitrate-estimator.js';

const MIN = 100_000;
const MAX = 3_000_000;

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} ≈ ${expected}`);
}

describe('PublisherBitrateEstimator', () => {
  test('rejects bad bounds', () => {
    assert.throws(() => new PublisherBitrateEstimator(0, 100), /minBitrate/);
    assert.throws(() => new PublisherBitrateEstimator(-1, 100), /minBitrate/);
    assert.throws(() => new PublisherBitrateEstimator(200, 100), /minBitrate/);
    assert.doesNotThrow(() => new PublisherBitrateEstimator(100, 100));
  });

  test('starts at the maximum', () => {
    assert.equal(new PublisherBitrateEstimator(MIN, MAX).bitrate, MAX);
  });

  test('heavy loss lowers the estimate by half the loss rate', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    close(e.update(100, 20), MAX * 0.9);
    close(e.bitrate, MAX * 0.9);
    close(e.update(100, 50), MAX * 0.9 * 0.75);
  });

  test('exactly 10% loss holds', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    e.update(100, 50);
    const held = e.bitrate;
    assert.equal(e.update(100, 10), held);
  });

  test('loss between 2% and 10% holds', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    e.update(100, 40);
    const held = e.bitrate;
    for (const lost of [2, 5, 9]) assert.equal(e.update(100, lost), held, `${lost}% loss`);
  });

  test('under 2% loss grows by 8% per interval', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    e.update(100, 100); // total loss: halves
    close(e.bitrate, MAX / 2);
    close(e.update(100, 0), (MAX / 2) * 1.08);
    close(e.update(1000, 19), (MAX / 2) * 1.08 * 1.08);
  });

  test('never grows above the maximum', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    assert.equal(e.update(100, 0), MAX);
    e.update(100, 30);
    for (let i = 0; i < 50; i++) e.update(100, 0);
    assert.equal(e.bitrate, MAX);
  });

  test('never drops below the minimum', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    for (let i = 0; i < 50; i++) e.update(100, 100);
    assert.equal(e.bitrate, MIN);
    close(e.update(100, 0), MIN * 1.08);
  });

  test('an interval with nothing expected changes nothing', () => {
    const e = new PublisherBitrateEstimator(MIN, MAX);
    e.update(100, 40);
    const held = e.bitrate;
    assert.equal(e.update(0, 0), held);
    assert.equal(e.update(0, 5), held);
    assert.equal(e.update(-3, 0), held);
  });
});
