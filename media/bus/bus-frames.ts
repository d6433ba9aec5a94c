import { shoal } from '../../proto/generated/shoal.js';

const { MediaFrameBatch, FrameKind } = shoal.media.v1;

/** One frame of the media bus, checked. */
interface BusFrame {
  trackId: string;
  kind: 'rtp' | 'feedback';
  packet: Buffer;
}

/** A bus message that is not a well-formed MediaFrameBatch. */
export class BusFrameError extends Error {
  override readonly name = 'BusFrameError';
}

/** Longest track id on the bus (ids are minted by the control plane and far shorter). */
const MAX_TRACK_ID_LENGTH = 128;
/** Largest packet a frame may carry: one RTP or RTCP packet of a UDP datagram. */
const MAX_PACKET_BYTES = 65_535;

/**
 * Decodes a bus message (a protobuf MediaFrameBatch) into checked frames:
 * a track id, a known kind, a packet of plausible size. Anything else throws
 * BusFrameError, so one bad message costs its sender, not the receiving worker.
 */
export function decodeBusFrames(data: Uint8Array): BusFrame[] {
  let batch: shoal.media.v1.MediaFrameBatch;
  try {
    batch = MediaFrameBatch.decode(data);
  } catch (error) {
    throw new BusFrameError(`not a MediaFrameBatch: ${(error as Error).message}`);
  }
  return (batch.frames as shoal.media.v1.MediaFrame[]).map((frame, i) => {
    const { trackId, kind } = frame;
    const packet = frame.packet as Buffer;
    if (trackId.length === 0 || trackId.length > MAX_TRACK_ID_LENGTH) throw new BusFrameError(`frame ${i}: track id of ${trackId.length} characters`);
    if (kind !== FrameKind.RTP && kind !== FrameKind.FEEDBACK) throw new BusFrameError(`frame ${i}: unknown kind ${kind}`);
    if (packet.length === 0 || packet.length > MAX_PACKET_BYTES) throw new BusFrameError(`frame ${i}: packet of ${packet.length} bytes`);
    return { trackId, kind: kind === FrameKind.RTP ? 'rtp' : 'feedback', packet };
  });
}
