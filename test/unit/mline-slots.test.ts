import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MLineSlots } from '../../media/transport/mline-slots.js';

describe('MLineSlots', () => {
  test('a released slot is free only after an answered offer showed it inactive', () => {
    const slots = new MLineSlots<string>();
    slots.add('video|vp8', 't0');
    slots.release('t0');
    assert.equal(slots.takeFree('video|vp8'), undefined, 'not before an offer');
    slots.offered(7);
    assert.equal(slots.takeFree('video|vp8'), undefined, 'not before its answer');
    slots.answered(6);
    assert.equal(slots.takeFree('video|vp8'), undefined, 'not on the answer to an earlier offer');
    slots.answered(7);
    assert.equal(slots.takeFree('video|vp8'), 't0');
    assert.equal(slots.takeFree('video|vp8'), undefined, 'taken: carrying again');
  });

  test('a slot released while an offer is out waits for the next offer', () => {
    const slots = new MLineSlots<string>();
    slots.add('audio|opus', 't0');
    slots.offered(1);
    slots.release('t0');
    slots.answered(1);
    assert.equal(slots.takeFree('audio|opus'), undefined);
    slots.offered(2);
    slots.answered(2);
    assert.equal(slots.takeFree('audio|opus'), 't0');
  });

  test('only a track of the same kind and codec takes a free slot', () => {
    const slots = new MLineSlots<string>();
    slots.add('video|vp8', 't0');
    slots.add('audio|opus', 't1');
    slots.release('t0');
    slots.release('t1');
    slots.offered(1);
    slots.answered(1);
    assert.equal(slots.takeFree('video|h264'), undefined);
    assert.equal(slots.takeFree('audio|opus'), 't1');
    assert.equal(slots.takeFree('video|vp8'), 't0');
  });

  test('churn: a hundred tracks one after another need one slot', () => {
    const slots = new MLineSlots<string>();
    let offerId = 0;
    for (let i = 0; i < 100; i++) {
      const item = slots.takeFree('video|vp8') ?? `t${slots.size}`;
      if (!slots.items.includes(item)) slots.add('video|vp8', item);
      slots.offered(++offerId);
      slots.answered(offerId);
      slots.release(item);
      slots.offered(++offerId);
      slots.answered(offerId);
    }
    assert.deepEqual(slots.items, ['t0']);
  });
});
