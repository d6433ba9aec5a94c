/**
 * Runs tasks one at a time per key, in the order they were queued; tasks of
 * different keys run concurrently. Used to decide concurrent joins of one
 * identity in one room one after the other.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running (for tests and stats). */
  get size(): number {
    return this.tails.size;
  }
}
