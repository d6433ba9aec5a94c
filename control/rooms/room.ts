import type { ProducerInfo } from '../../media/worker/protocol.js';
import type { Participant } from './participant.js';

/** A participant connected to another node of the cluster, as the store's change feed tells of it. */
export interface RemoteParticipant {
  id: string;
  identity: string;
  nodeId: string;
}

/** A track: where its packets come from (ProducerInfo) and whose it is. */
export interface RoomTrack {
  info: ProducerInfo;
  identity: string;
}

/**
 * One room as this node sees it: its participants on this node (with their
 * sessions and media), and those on other nodes with their tracks, fed by
 * the store. A remote participant is an ordinary member: it is listed in
 * `joined` and its tracks are consumed like local ones.
 */
export class Room {
  readonly participants = new Map<string, Participant>();
  readonly remote = new Map<string, RemoteParticipant>();
  /** Tracks published on other nodes, by track id. */
  readonly remoteTracks = new Map<string, RoomTrack>();
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

  remoteWithIdentity(identity: string): RemoteParticipant | undefined {
    for (const p of this.remote.values()) if (p.identity === identity) return p;
    return undefined;
  }

  /** The local others that have been told they joined (and so hear of the room's events). */
  joinedOthers(participant?: Participant): Participant[] {
    return [...this.participants.values()].filter((p) => p !== participant && p.state === 'joined');
  }

  /** Everyone `participant` is told of in `joined`: the joined others here and the participants elsewhere. */
  membersFor(participant: Participant): Array<{ participantId: string; identity: string }> {
    const remote = [...this.remote.values()].filter((p) => p.identity !== participant.identity);
    return [...this.joinedOthers(participant).map((p) => p.info()), ...remote.map((p) => ({ participantId: p.id, identity: p.identity }))];
  }

  /** Every track of the room: published here and elsewhere. */
  tracks(): RoomTrack[] {
    const local = [...this.participants.values()].flatMap((p) => [...p.published.values()].map((info) => ({ info, identity: p.identity })));
    return [...local, ...this.remoteTracks.values()];
  }

  /** Participants of this room per worker id, for placement. */
  countsByWorker(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const p of this.participants.values()) counts.set(p.worker.id, (counts.get(p.worker.id) ?? 0) + 1);
    return counts;
  }

  /** No participant on this node: the node forgets the room (the store keeps it while others are in it). */
  get empty(): boolean {
    return this.participants.size === 0;
  }
}
