import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DROP_WINDOW_MS, MessageBudget, type BudgetVerdict } from '../../control/signaling/message-budget.js';
import { TokenBucket } from '../../control/signaling/token-bucket.js';

function takeAll(bucket: TokenBucket, now: number): number {
  let taken = 0;
  while (bucket.take(now)) taken++;
  return taken;
}

test('a token bucket starts full and lets a burst of its capacity through', () => {
  const bucket = new TokenBucket(50, 100, 0);
  assert.equal(takeAll(bucket, 0), 100);
  assert.equal(bucket.take(0), false);
});

test('a token bucket refills at its rate, fractions included, up to its capacity', () => {
  const bucket = new TokenBucket(50, 100, 0);
  takeAll(bucket, 0);
  assert.equal(bucket.take(10), false, '10 ms at 50/s is half a token');
  assert.equal(bucket.take(20), true, '20 ms is one token');
  assert.equal(bucket.take(20), false);
  assert.equal(takeAll(bucket, 1020), 50, 'one second is 50 tokens');
  assert.equal(takeAll(bucket, 1_000_000), 100, 'a long pause refills to the capacity, no more');
});

test('a token bucket ignores a clock that goes back', () => {
  const bucket = new TokenBucket(10, 10, 1000);
  takeAll(bucket, 1000);
  assert.equal(bucket.take(0), false);
  assert.equal(takeAll(bucket, 1100), 1);
});

test('sustained at the rate, every message is accepted', () => {
  let now = 0;
  const budget = new MessageBudget(50, () => now);
  for (let i = 0; i < 5000; i++) {
    now = i * 20;
    assert.equal(budget.charge(), 'accept', `message ${i}`);
  }
});

test('over the burst, messages are dropped and the client is told at most once a second', () => {
  let now = 0;
  const budget = new MessageBudget(50, () => now);
  const verdicts: BudgetVerdict[] = [];
  for (let i = 0; i < 150; i++) verdicts.push(budget.charge());
  assert.equal(verdicts.filter((v) => v === 'accept').length, 100, 'burst of twice the rate');
  assert.equal(verdicts[100], 'drop-and-tell');
  assert.ok(verdicts.slice(101).every((v) => v === 'drop'));
  const afterRefill = (): BudgetVerdict => {
    let verdict: BudgetVerdict;
    do verdict = budget.charge();
    while (verdict === 'accept');
    return verdict;
  };
  now = 999;
  assert.equal(afterRefill(), 'drop', 'told less than a second ago');
  now = 1000;
  assert.equal(afterRefill(), 'drop-and-tell');
});

test('a client that keeps flooding is disconnected; one that slows down is not', () => {
  let now = 0;
  const flooder = new MessageBudget(50, () => now);
  let verdict: BudgetVerdict = 'accept';
  let sent = 0;
  while (verdict !== 'disconnect' && sent < 10_000) {
    verdict = flooder.charge();
    sent++;
  }
  assert.equal(verdict, 'disconnect');
  assert.equal(sent, 100 + 100 + 1, 'the burst, then a burst worth of drops, then the one over');

  now = 0;
  const eager = new MessageBudget(50, () => now);
  // 55 messages a second for a minute: 5 over the rate each second once the burst is used, told, never disconnected.
  for (let second = 0; second < 60; second++) {
    for (let i = 0; i < 55; i++) {
      now = second * 1000 + (i * 1000) / 55;
      assert.notEqual(eager.charge(), 'disconnect', `second ${second}`);
    }
  }
});

test('dropped messages are forgotten after the window', () => {
  let now = 0;
  const budget = new MessageBudget(10, () => now);
  for (let i = 0; i < 20; i++) budget.charge();
  for (let i = 0; i < 20; i++) assert.notEqual(budget.charge(), 'disconnect');
  now = DROP_WINDOW_MS;
  for (let i = 0; i < 20; i++) budget.charge(); // 20 tokens refilled
  for (let i = 0; i < 20; i++) assert.notEqual(budget.charge(), 'disconnect', 'a new window');
  assert.equal(budget.charge(), 'disconnect');
});
