import type { ProducerInfo } from '../../media/worker/protocol.js';
import type { ParticipantRecord, TrackRecord } from '../store/room-store.js';
import type { Participant } from './participant.js';
import type { RemoteParticipant, RoomTrack } from './room.js';

/** What the store records of a local participant. */
export function participantRecord(participant: Participant, nodeId: string): ParticipantRecord {
  return {
    participantId: participant.id,
    room: participant.room,
    identity: participant.identity,
    nodeId,
    workerId: participant.worker.id,
    joinedAtMs: Date.now(),
  };
}

/** What the store records of a track a local participant publishes. */
export function trackRecord(participant: Participant, track: ProducerInfo): TrackRecord {
  const { codec } = track;
  return {
    trackId: track.trackId,
    room: participant.room,
    participantId: participant.id,
    identity: participant.identity,
    kind: track.kind,
    codec: { mimeType: codec.mimeType, payloadType: codec.payloadType, clockRate: codec.clockRate, channels: codec.channels ?? 0, fmtp: codec.fmtp ?? '' },
    nodeId: track.nodeId,
    workerId: track.workerId,
  };
}

export function remoteParticipant(record: ParticipantRecord): RemoteParticipant {
  return { id: record.participantId, identity: record.identity, nodeId: record.nodeId };
}

/** A track recorded by another node, as its consumers here need it. */
export function remoteTrack(record: TrackRecord): RoomTrack {
  const { codec } = record;
  return {
    identity: record.identity,
    info: {
      trackId: record.trackId,
      participantId: record.participantId,
      // The publisher's m-line is its node's business; consumers do not need it.
      mid: '',
      kind: record.kind === 'audio' ? 'audio' : 'video',
      codec: {
        mimeType: codec.mimeType,
        payloadType: codec.payloadType,
        clockRate: codec.clockRate,
        ...(codec.channels ? { channels: codec.channels } : {}),
        ...(codec.fmtp ? { fmtp: codec.fmtp } : {}),
        rtcpFeedback: [],
      },
      nodeId: record.nodeId,
      workerId: record.workerId,
    },
  };
}
