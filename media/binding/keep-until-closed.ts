/**
 * node-datachannel's Track and DataChannel wrappers register themselves in a
 * native instance list and leave it only when libdatachannel reports them
 * closed. One garbage-collected before that leaves a dangling pointer that
 * `cleanup()` or the late closed callback dereferences: a segfault. So every
 * Track and DataChannel is held here until its closed callback has run.
 */
interface Closable {
  onClosed(callback: () => void): void;
}

const held = new Set<Closable>();

/** Holds `handle` until it reports closed; `onClosed` runs then too. */
export function keepUntilClosed<T extends Closable>(handle: T, onClosed?: () => void): T {
  held.add(handle);
  handle.onClosed(() => {
    held.delete(handle);
    onClosed?.();
  });
  return handle;
}

/** How many handles are waiting for their closed callback (for stats and tests). */
export function heldHandles(): number {
  return held.size;
}
