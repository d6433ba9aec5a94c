import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RetransmissionBudget } from '../../media/rtp/retransmission-budget.js';

const OPTIONS = { share: 0.25, burstBytes: 10_000, repeatWindowMs: 100, slots: 512 };

describe('RetransmissionBudget', () => {
  test('a new subscriber may repair a burst of losses at once, up to the burst allowance', () => {
    const budget = new RetransmissionBudget(OPTIONS);
    let sent = 0;
    for (let seq = 0; seq < 20; seq++) if (budget.take(seq, 1000, 0)) sent++;
    assert.equal(sent, 10);
    assert.equal(budget.exhausted, true);
  });

  test('then the credit grows by the share of what the subscriber is sent, never past the burst allowance', () => {
    const budget = new RetransmissionBudget(OPTIONS);
    for (let seq = 0; seq < 10; seq++) assert.ok(budget.take(seq, 1000, 0));
    for (let i = 0; i < 4; i++) budget.onSent(1000);
    assert.ok(budget.take(100, 1000, 0), 'four packets sent pay for one retransmission');
    assert.equal(budget.take(101, 1000, 0), false);
    for (let i = 0; i < 1000; i++) budget.onSent(1000);
    let sent = 0;
    for (let seq = 200; seq < 300; seq++) if (budget.take(seq, 1000, 0)) sent++;
    assert.equal(sent, 10, 'a long quiet stretch saves up no more than the burst');
  });

  test('a sequence number is sent again only after the repeat window', () => {
    const budget = new RetransmissionBudget(OPTIONS);
    assert.ok(budget.take(7, 100, 1000));
    assert.equal(budget.isRepeat(7, 1050), true);
    assert.equal(budget.take(7, 100, 1099), false);
    assert.equal(budget.take(7 + 512, 100, 1050), true, 'another sequence number in the same slot is no repeat');
    assert.equal(budget.take(7, 100, 1101), true);
  });

  test('a refused retransmission costs nothing', () => {
    const budget = new RetransmissionBudget({ ...OPTIONS, burstBytes: 1500 });
    assert.equal(budget.take(1, 2000, 0), false);
    assert.ok(budget.take(2, 1500, 0));
  });

  test('slots must be a power of two', () => {
    assert.throws(() => new RetransmissionBudget({ ...OPTIONS, slots: 500 }));
  });

  test('the NACK storm of issue 7 gets a quarter of the stream, not thousands of packets a second', () => {
    // 100 packets/s of 1100 bytes for 10 s; every 50 ms a NACK for 4250 sequence numbers.
    const budget = new RetransmissionBudget({ ...OPTIONS, burstBytes: 64 * 1024 });
    let retransmitted = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      budget.onSent(1100);
      if (ms % 50 !== 0) continue;
      for (let i = 0; i < 4250 && !budget.exhausted; i++) if (budget.take(i % 510, 1100, ms)) retransmitted++;
    }
    assert.ok(retransmitted <= 60 + 0.25 * 1000 + 1, `${retransmitted} retransmissions in 10 s`);
  });
});
