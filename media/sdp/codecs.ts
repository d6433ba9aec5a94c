import { attributes, type SdpMedia } from './sdp.js';

/** One RTP payload format as negotiated on a publisher's m-line. */
export interface CodecParameters {
  /** "audio/opus", "video/VP8", ... with the encoding name as the SDP spells it. */
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  /** The a=fmtp parameters, if any. */
  fmtp?: string;
  /** The a=rtcp-fb values kept for this payload type. */
  rtcpFeedback: string[];
}

/** Codecs this SFU forwards. Of those an offer lists, the publisher's first choice is taken (`chooseCodec`). */
export const FORWARDED_CODECS: Record<'audio' | 'video', readonly string[]> = {
  audio: ['opus', 'pcmu', 'pcma', 'g722'],
  video: ['vp8', 'vp9', 'h264', 'av1', 'h265'],
};

/** Feedback this SFU acts on; anything else (transport-cc above all, unless `preparePublisherOffer` keeps it) is removed from offers. */
const KEPT_FEEDBACK = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb']);

export function encodingName(codec: CodecParameters): string {
  return codec.mimeType.slice(codec.mimeType.indexOf('/') + 1);
}

/** Every payload type of an m-line with its rtpmap, fmtp and rtcp-fb lines, in m-line order. */
export function listCodecs(media: SdpMedia): CodecParameters[] {
  const byPt = new Map<number, CodecParameters>();
  for (const value of attributes(media.lines, 'rtpmap')) {
    const match = /^(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?$/.exec(value.trim());
    if (!match) continue;
    const pt = Number(match[1]);
    byPt.set(pt, {
      mimeType: `${media.kind}/${match[2]}`,
      payloadType: pt,
      clockRate: Number(match[3]),
      ...(match[4] ? { channels: Number(match[4]) } : {}),
      rtcpFeedback: [],
    });
  }
  for (const value of attributes(media.lines, 'fmtp')) {
    const space = value.indexOf(' ');
    const codec = byPt.get(Number(value.slice(0, space)));
    if (codec && space > 0) codec.fmtp = value.slice(space + 1);
  }
  for (const value of attributes(media.lines, 'rtcp-fb')) {
    const space = value.indexOf(' ');
    const codec = byPt.get(Number(value.slice(0, space)));
    const fb = value.slice(space + 1);
    if (codec && space > 0 && KEPT_FEEDBACK.has(fb)) codec.rtcpFeedback.push(fb);
  }
  return media.formats.map((f) => byPt.get(Number(f))).filter((c): c is CodecParameters => c !== undefined);
}

/**
 * The codec to forward from an offered m-line: the first one in the offer's
 * order (the publisher's preference) that this SFU forwards.
 */
export function chooseCodec(media: SdpMedia): CodecParameters | undefined {
  if (media.kind !== 'audio' && media.kind !== 'video') return undefined;
  const forwarded = FORWARDED_CODECS[media.kind];
  return listCodecs(media).find((c) => forwarded.includes(encodingName(c).toLowerCase()));
}

/** A key that is equal for two codecs exactly when one payload type can carry both. */
export function codecKey(codec: CodecParameters): string {
  return [codec.mimeType.toLowerCase(), codec.clockRate, codec.channels ?? '', codec.fmtp ?? ''].join('|');
}
