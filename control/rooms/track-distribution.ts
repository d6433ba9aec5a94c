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

  /** A track of `room` that went: its consumers stop, the joined participants are told. */
  withdraw(room: Room, trackId: string, publisherId: string): void {
    for (const other of room.joinedOthers()) {
      if (other.id === publisherId) continue;
      if (other.subscribed.delete(trackId)) {
        other.worker.request('unconsume', { participantId: other.id, trackId }).catch(() => undefined);
      }
      other.send({ trackUnpublished: { trackId, participantId: publisherId } });
    }
  }

  /** A participant that just joined consumes every track of its room. */
  subscribeAll(participant: Participant, room: Room): void {
    for (const track of room.tracks()) this.subscribe(participant, track);
  }

  private subscribe(subscriber: Participant, { info: track, identity }: RoomTrack): void {
    if (subscriber.subscribed.has(track.trackId) || track.participantId === subscriber.id) return;
    if (!subscriber.grants.has('subscribe') || !subscriber.wants(identity)) return;
    subscriber.subscribed.add(track.trackId);
    subscriber.worker.request('consume', { participantId: subscriber.id, producer: track }).catch((error) => {
      subscriber.log.warn({ err: error, track: track.trackId }, 'could not subscribe');
    });
  }
}
