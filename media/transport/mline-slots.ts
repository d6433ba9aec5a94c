/**
 * The media m-lines of a subscriber connection, each a slot that carries one
 * track at a time. A slot whose track went is 'released'; once an offer that
 * showed it inactive has been answered it is 'free', and the next track with
 * the same key (kind and codec: an m-line's codec is fixed) takes it. So the
 * client always sees a track go before another comes on the same m-line, and
 * the number of m-lines follows the tracks carried at once, not every track
 * ever carried.
 */
export class MLineSlots<T> {
  private readonly slots: Array<{ item: T; key: string; state: 'carrying' | 'released' | 'free'; releasedInOffer?: number }> = [];

  /** Every slot's item, in the order the slots were added (the order of their m-lines). */
  get items(): T[] {
    return this.slots.map((slot) => slot.item);
  }

  get size(): number {
    return this.slots.length;
  }

  /** Takes a free slot with `key` (it carries from now on); undefined when none is free. */
  takeFree(key: string): T | undefined {
    const slot = this.slots.find((s) => s.state === 'free' && s.key === key);
    if (!slot) return undefined;
    slot.state = 'carrying';
    slot.releasedInOffer = undefined;
    return slot.item;
  }

  /** A new slot, carrying. */
  add(key: string, item: T): void {
    this.slots.push({ item, key, state: 'carrying' });
  }

  /** The slot's track went. */
  release(item: T): void {
    const slot = this.slots.find((s) => s.item === item);
    if (slot?.state === 'carrying') slot.state = 'released';
  }

  /** An offer is being made: it shows the released slots inactive. */
  offered(offerId: number): void {
    for (const slot of this.slots) if (slot.state === 'released') slot.releasedInOffer ??= offerId;
  }

  /** The answer to `offerId` was applied: slots released in it (or before) are free. */
  answered(offerId: number): void {
    for (const slot of this.slots) {
      if (slot.state === 'released' && slot.releasedInOffer !== undefined && slot.releasedInOffer <= offerId) slot.state = 'free';
    }
  }
}
