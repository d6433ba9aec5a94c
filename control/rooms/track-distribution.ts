import type { ProducerInfo } from '../../media/worker/protocol.js';
import type { Participant } from './participant.js';
import type { Room, RoomTrack } from './room.js';
import { trackMessage } from './wire.js';

/**
 * Every participant receives every other participant's tracks: tells the
 * room's joined participants of tracks that come and go, and has their media
 * workers consume them, whether the publisher is on this node or another.
 */
export class TrackDistribution {
  /** A new track of `room`: announced to the joined participants (not its publisher), and consumed by them. */
  announce(room: Room, track: RoomTrack): void {
    // Participants still joining get the room's tracks with `joined`.
    for (const other of room.joinedOthers()) {
      if (other.id === track.info.participantId) continue;
      other.send({ trackPublished: { track: trackMessage(track) } });
      this.subscribe(other, track);
    }
  }

  /**
   * A track of `room` that went: its consumers stop (those of participants
   * still joining too: their first offer may carry it), the joined
   * participants are told.
   */
  withdraw(room: Room, trackId: string, publisherId: string): void {
    for (const other of room.participants.values()) {
      if (other.id === publisherId || other.state === 'left') continue;
      if (other.subscribed.delete(trackId)) {
        other.worker.request('unconsume', { participantId: other.id, trackId }).catch(() => undefined);
      }
      if (other.state === 'joined') other.send({ trackUnpublished: { trackId, participantId: publisherId } });
    }
  }

  /**
   * The tracks of `room` a joining participant receives from the start, marked
   * as consumed: its worker puts them into the first subscriber offer, so the
   * client is not offered its data channels alone and the tracks a moment later.
   */
  initialTracks(participant: Participant, room: Room): ProducerInfo[] {
    return room.tracks().filter((track) => this.claim(participant, track)).map((track) => track.info);
  }

  /** A participant that just joined consumes every track of its room (those published while it joined, after `initialTracks`). */
  subscribeAll(participant: Participant, room: Room): void {
    for (const track of room.tracks()) this.subscribe(participant, track);
  }

  private subscribe(subscriber: Participant, track: RoomTrack): void {
    if (!this.claim(subscriber, track)) return;
    subscriber.worker.request('consume', { participantId: subscriber.id, producer: track.info }).catch((error) => {
      subscriber.log.warn({ err: error, track: track.info.trackId }, 'could not subscribe');
    });
  }

  /** Marks `track` as consumed by `subscriber` if it is to receive it and does not yet; false otherwise. */
  private claim(subscriber: Participant, { info: track, identity }: RoomTrack): boolean {
    if (subscriber.subscribed.has(track.trackId) || track.participantId === subscriber.id) return false;
    if (!subscriber.grants.has('subscribe') || !subscriber.wants(identity)) return false;
    subscriber.subscribed.add(track.trackId);
    return true;
  }
}
