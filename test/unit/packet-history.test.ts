import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PacketHistory } from '../../media/rtp/packet-history.js';

function rtp(seq: number, tag = 0): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(tag, 12);
  return b;
}

describe('PacketHistory', () => {
  test('capacity must be a positive power of two', () => {
    for (const bad of [0, -1, -4, 3, 6, 1000, 1025]) {
      assert.throws(() => new PacketHistory(bad), /power of two/, `capacity ${bad}`);
    }
    for (const good of [1, 2, 4, 1024, 65536, 131072]) {
      assert.doesNotThrow(() => new PacketHistory(good), `capacity ${good}`);
    }
  });

  test('returns a stored packet by its sequence number, by reference', () => {
    const h = new PacketHistory(8);
    const p = rtp(1234, 7);
    h.store(p);
    assert.equal(h.get(1234), p);
  });

  test('returns undefined for sequence numbers never stored, including on an empty history', () => {
    const h = new PacketHistory(8);
    assert.equal(h.get(0), undefined);
    assert.equal(h.get(7), undefined);
    assert.equal(h.get(65535), undefined);
    h.store(rtp(5));
    assert.equal(h.get(4), undefined);
    assert.equal(h.get(6), undefined);
  });

  test('a slot only answers for the full sequence number it holds', () => {
    const h = new PacketHistory(8);
    h.store(rtp(3));
    assert.notEqual(h.get(3), undefined);
    assert.equal(h.get(11), undefined, '11 & 7 === 3 but it was never stored');
    assert.equal(h.get(3 + 65536), undefined);
  });

  test('a newer packet in the same slot replaces the older one', () => {
    const h = new PacketHistory(8);
    const old = rtp(3, 1);
    const newer = rtp(11, 2);
    h.store(old);
    h.store(newer);
    assert.equal(h.get(3), undefined);
    assert.equal(h.get(11), newer);
  });

  test('keeps exactly the last `capacity` packets of a run', () => {
    const h = new PacketHistory(16);
    const packets = new Map<number, Buffer>();
    for (let seq = 100; seq < 140; seq++) {
      const p = rtp(seq, seq);
      packets.set(seq, p);
      h.store(p);
    }
    for (let seq = 100; seq < 124; seq++) assert.equal(h.get(seq), undefined, `seq ${seq} evicted`);
    for (let seq = 124; seq < 140; seq++) assert.equal(h.get(seq), packets.get(seq), `seq ${seq} kept`);
  });

  test('works across the 16-bit sequence wrap', () => {
    const h = new PacketHistory(8);
    const seqs = [65533, 65534, 65535, 0, 1, 2];
    const packets = seqs.map((s) => rtp(s, s));
    packets.forEach((p) => h.store(p));
    seqs.forEach((s, i) => assert.equal(h.get(s), packets[i], `seq ${s}`));
  });

  test('storing the same sequence number again replaces the packet', () => {
    const h = new PacketHistory(4);
    const a = rtp(9, 1);
    const b = rtp(9, 2);
    h.store(a);
    h.store(b);
    assert.equal(h.get(9), b);
  });

  test('sequence number 0 is found (the empty-slot marker is not 0)', () => {
    const h = new PacketHistory(4);
    assert.equal(h.get(0), undefined);
    const p = rtp(0);
    h.store(p);
    assert.equal(h.get(0), p);
  });

  test('a negative sequence number is never found', () => {
    const h = new PacketHistory(4);
    h.store(rtp(3));
    assert.equal(h.get(-1), undefined);
  });

  test('clear forgets everything', () => {
    const h = new PacketHistory(4);
    for (const seq of [0, 1, 2, 3]) h.store(rtp(seq));
    h.clear();
    for (const seq of [0, 1, 2, 3]) assert.equal(h.get(seq), undefined);
    const p = rtp(2);
    h.store(p);
    assert.equal(h.get(2), p);
  });

  test('default capacity is 1024', () => {
    const h = new PacketHistory();
    const first = rtp(0);
    h.store(first);
    for (let seq = 1; seq < 1024; seq++) h.store(rtp(seq));
    assert.equal(h.get(0), first);
    h.store(rtp(1024));
    assert.equal(h.get(0), undefined);
  });

  test('a copying history keeps its own copy: the stored buffer may change or go away', () => {
    const h = new PacketHistory(8, { copy: true });
    const batch = Buffer.alloc(64);
    const p = batch.subarray(8, 24);
    rtp(21, 0xabcd).copy(p);
    h.store(p);
    const kept = h.get(21)!;
    assert.deepEqual(Buffer.from(kept), rtp(21, 0xabcd));
    assert.notEqual(kept.buffer, batch.buffer, 'not a view of the batch');
    batch.fill(0);
    assert.deepEqual(Buffer.from(h.get(21)!), rtp(21, 0xabcd));
  });

  test('a copying history reuses its slot buffers and grows one for a larger packet', () => {
    const h = new PacketHistory(4, { copy: true });
    h.store(rtp(1, 1));
    const first = h.get(1)!;
    h.store(rtp(5, 5));
    const again = h.get(5)!;
    assert.equal(again.buffer, first.buffer, 'the same slot buffer');
    assert.equal(h.get(1), undefined);
    const big = Buffer.alloc(3000);
    rtp(9, 9).copy(big);
    h.store(big);
    assert.equal(h.get(9)!.length, 3000);
    assert.deepEqual(Buffer.from(h.get(9)!.subarray(0, 16)), rtp(9, 9));
    h.store(rtp(13, 13));
    assert.equal(h.get(13)!.length, 16, 'a slot answers with the length of what it holds');
  });
});
