import { takeCandidates } from './candidates.js';
import { encodingName, FORWARDED_CODECS, listCodecs, type CodecParameters } from './codecs.js';
import { checkMLines } from './publisher-offer.js';
import { attributes, isRejected, mediaDirection, parseSdp, rejectMedia, SdpError, writeSdp, type SdpMedia } from './sdp.js';

/** An m-line of a viewer's offer that the server sends media on. */
export interface ViewerMLine {
  mid: string;
  kind: 'audio' | 'video';
  /** The codec it carries, with the viewer's payload type, fmtp and feedback. */
  codec: CodecParameters;
  /** The viewer's RTX payload type for that codec, when it offered one (video). */
  rtxPayloadType?: number;
}

/**
 * Reads a viewer's (a WHEP client's) offer: every audio or video m-line that
 * receives (recvonly, or sendrecv) gets one codec, the first of `preferred`
 * (the codecs of the tracks there are to send, best first) that the viewer
 * offered, else the viewer's first choice among those Shoal forwards; the
 * server's answer names only that codec (and RTX). Other audio and video
 * m-lines (sendonly, inactive, no forwardable codec) are rejected: port 0 in
 * the returned SDP, which is what is applied. Data channel m-lines stay (they
 * are answered and carry nothing). a=candidate lines are taken out, to be
 * checked and counted like trickled ones. Throws SdpError when the offer is
 * unusable or has more than `maxMLines` m-lines.
 */
export function prepareViewerOffer(
  text: string,
  preferred: readonly CodecParameters[],
  maxMLines: number,
): { sdp: string; mLines: ViewerMLine[]; candidates: Array<[string, string]> } {
  const sdp = parseSdp(text);
  const candidates = takeCandidates(sdp);
  if (sdp.media.length === 0) throw new SdpError('offer has no m= line');
  if (sdp.media.length > maxMLines) throw new SdpError(`offer has ${sdp.media.length} m-lines; at most ${maxMLines} are allowed`);
  const mids = checkMLines(sdp);
  const mLines: ViewerMLine[] = [];
  for (const [index, media] of sdp.media.entries()) {
    if (media.kind === 'application' || isRejected(media)) continue;
    const line = receivingMLine(media, mids[index]!, preferred);
    if (line) mLines.push(line);
    else rejectMedia(media);
  }
  if (mLines.length === 0) throw new SdpError('the offer receives no audio or video with a codec this server forwards (recvonly m-lines are needed)');
  return { sdp: writeSdp(sdp), mLines, candidates };
}

function receivingMLine(media: SdpMedia, mid: string, preferred: readonly CodecParameters[]): ViewerMLine | undefined {
  const direction = mediaDirection(media);
  if ((media.kind !== 'audio' && media.kind !== 'video') || (direction !== 'recvonly' && direction !== 'sendrecv')) return undefined;
  const forwarded = FORWARDED_CODECS[media.kind];
  const offered = listCodecs(media).filter((c) => forwarded.includes(encodingName(c).toLowerCase()));
  const codec = preferred.map((p) => offered.find((c) => sameFormat(c, p))).find((c) => c !== undefined) ?? offered[0];
  if (!codec) return undefined;
  const rtx = attributes(media.lines, 'fmtp')
    .map((value) => /^(\d+) apt=(\d+)$/.exec(value.trim()))
    .find((match) => match !== null && Number(match[2]) === codec.payloadType && /^\d+ rtx\//i.test(rtpmapOf(media, Number(match[1]))));
  return { mid, kind: media.kind, codec, ...(media.kind === 'video' && rtx ? { rtxPayloadType: Number(rtx[1]) } : {}) };
}

function rtpmapOf(media: SdpMedia, payloadType: number): string {
  return attributes(media.lines, 'rtpmap').find((value) => value.startsWith(`${payloadType} `)) ?? '';
}

/**
 * Whether packets of codec `a` can go out on an m-line negotiated with codec
 * `b`: the same encoding, clock rate and channels, and for H.264 the same
 * packetization mode (payload types and other parameters may differ; the
 * forwarder rewrites the payload type).
 */
export function sameFormat(a: CodecParameters, b: CodecParameters): boolean {
  if (a.mimeType.toLowerCase() !== b.mimeType.toLowerCase() || a.clockRate !== b.clockRate || (a.channels ?? 1) !== (b.channels ?? 1)) return false;
  return encodingName(a).toLowerCase() !== 'h264' || packetizationMode(a) === packetizationMode(b);
}

function packetizationMode(codec: CodecParameters): string {
  return /(?:^|;)\s*packetization-mode=(\d)/.exec(codec.fmtp ?? '')?.[1] ?? '0';
}
