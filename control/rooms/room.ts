import type { ProducerInfo } from '../../media/worker/protocol.js';
import type { Participant } from './participant.js';

/** The participants of one room on this node, by id and by identity. */
export class Room {
  readonly participants = new Map<string, Participant>();
  private readonly byIdentity = new Map<string, Participant>();

  constructor(readonly name: string) {}

  add(participant: Participant): void {
    this.participants.set(participant.id, participant);
    this.byIdentity.set(participant.identity, participant);
  }

  remove(participant: Participant): void {
    this.participants.delete(participant.id);
    if (this.byIdentity.get(participant.identity) === participant) this.byIdentity.delete(participant.identity);
  }

  withIdentity(identity: string): Participant | undefined {
    return this.byIdentity.get(identity);
  }

  /** The others that have been told they joined (and so hear of the room's events). */
  joinedOthers(participant: Participant): Participant[] {
    return [...this.participants.values()].filter((p) => p !== participant && p.state === 'joined');
  }

  tracks(): ProducerInfo[] {
    return [...this.participants.values()].flatMap((p) => [...p.published.values()]);
  }

  /** Participants of this room per worker id, for placement. */
  countsByWorker(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const p of this.participants.values()) counts.set(p.worker.id, (counts.get(p.worker.id) ?? 0) + 1);
    return counts;
  }

  get empty(): boolean {
    return this.participants.size === 0;
  }
}
