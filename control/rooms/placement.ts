/** What placement needs to know of a worker. */
export interface WorkerLoad {
  workerId: number;
  alive: boolean;
  /** Participants placed on it (by the control plane, so always current). */
  participants: number;
}

/**
 * Picks the worker for a new participant of a room. A room stays on one
 * worker while it has fewer than `roomCapacity` participants there; past that,
 * or when that worker is gone, the participant goes to the least loaded
 * worker. New rooms also go to the least loaded worker.
 * `roomCounts` maps worker id → participants of this room on it.
 */
export function chooseWorker(
  workers: readonly WorkerLoad[],
  roomCounts: ReadonlyMap<number, number>,
  roomCapacity: number,
): number | undefined {
  const alive = workers.filter((w) => w.alive);
  if (alive.length === 0) return undefined;
  // Among the workers still under capacity for this room, the one holding most of it.
  let home: WorkerLoad | undefined;
  for (const w of alive) {
    const count = roomCounts.get(w.workerId) ?? 0;
    if (count > 0 && count < roomCapacity && (!home || count > (roomCounts.get(home.workerId) ?? 0))) home = w;
  }
  if (home) return home.workerId;
  return alive.reduce((best, w) => (w.participants < best.participants ? w : best)).workerId;
}
