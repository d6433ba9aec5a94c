import { guarded } from './guard-callbacks.js';

/**
 * node-datachannel's Track and DataChannel wrappers register themselves in a
 * native instance list and leave it only when their closed callback runs (or
 * at `cleanup()`). One garbage-collected while still listed leaves a dangling
 * pointer that `cleanup()` dereferences: a segfault. So every Track and
 * DataChannel is held here until its closed callback has run; one that was
 * closed before it could be given a callback never reports closed, and is held
 * until the binding is released.
 *
 * A Track that libdatachannel closed (its m-line was removed) leaves the list
 * with its message and open callbacks still set: thread-safe functions nothing
 * releases, which keep the thread's event loop alive. `close()` from
 * JavaScript releases them, so it is called once the closed callback ran.
 */
interface Closable {
  onClosed(callback: () => void): void;
  close(): void;
  isClosed?(): boolean;
}

const held = new Set<Closable>();

/** Holds `handle` until it reports closed; `onClosed` runs then too. */
export function keepUntilClosed<T extends Closable>(handle: T, onClosed?: () => void): T {
  held.add(handle);
  if (handle.isClosed?.()) return handle;
  handle.onClosed(guarded(() => {
    held.delete(handle);
    handle.close();
    onClosed?.();
  }));
  return handle;
}

/** How many handles are held (for stats and tests). */
export function heldHandles(): number {
  return held.size;
}
