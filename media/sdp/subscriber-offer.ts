import { mediaMid, parseSdp, writeSdp } from './sdp.js';

/**
 * What one sendonly m-line of a subscriber connection carries in an offer.
 * The m-line's codec and SSRCs are fixed when it is created; the track it
 * carries changes as tracks come and go, so its stream and track ids
 * (`a=msid`, RFC 8830) and its direction are written into each offer here.
 */
export interface MLineState {
  mid: string;
  ssrc: number;
  rtxSsrc?: number;
  /** The track it carries; none: the m-line is `a=inactive` until it carries another. */
  carries?: { streamId: string; trackId: string; cname: string };
}

/**
 * An inactive m-line keeps its SSRCs: Chromium removes the receive stream of an
 * SSRC that leaves the SDP and, when the same SSRC comes back, decodes it into
 * a stream no longer connected to the receiver's track (nothing renders).
 */
const IDLE_CNAME = 'shoal';
const DIRECTION = /^a=(sendrecv|sendonly|recvonly|inactive)$/;
const TRACK_LINES = /^a=(msid|ssrc|ssrc-group):/;

/** `sdp` (a subscriber offer as libdatachannel made it) with each listed m-line's direction and track written in. */
export function writeMLineStates(text: string, states: readonly MLineState[]): string {
  const byMid = new Map(states.map((s) => [s.mid, s]));
  const sdp = parseSdp(text);
  for (const media of sdp.media) {
    const mid = mediaMid(media);
    const state = mid === undefined ? undefined : byMid.get(mid);
    if (!state) continue;
    const lines = media.lines.filter((line) => !DIRECTION.test(line) && !TRACK_LINES.test(line));
    const carries = state.carries;
    const cname = carries?.cname ?? IDLE_CNAME;
    if (!carries) {
      lines.push('a=inactive', `a=ssrc:${state.ssrc} cname:${cname}`);
    } else {
      const msid = `${carries.streamId} ${carries.trackId}`;
      lines.push('a=sendonly', `a=msid:${msid}`, `a=ssrc:${state.ssrc} cname:${cname}`, `a=ssrc:${state.ssrc} msid:${msid}`);
    }
    if (state.rtxSsrc !== undefined) lines.push(`a=ssrc:${state.rtxSsrc} cname:${cname}`, `a=ssrc-group:FID ${state.ssrc} ${state.rtxSsrc}`);
    media.lines = lines;
  }
  return writeSdp(sdp);
}
