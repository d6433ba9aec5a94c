import { randomInt } from 'node:crypto';
import type { Audio, PeerConnection, Video } from 'node-datachannel';
import { Consumer } from '../forwarding/consumer.js';
import { DEFAULT_RETRANSMISSION_BUDGET, RetransmissionBudget } from '../rtp/retransmission-budget.js';
import { encodingName, type CodecParameters } from '../sdp/codecs.js';
import type { MediaKind } from '../worker/protocol.js';
import type { TransportContext } from './transport-context.js';

/** What a sendonly m-line is made with; its codec and SSRCs stay for the connection's life. */
export interface SendingMLine {
  mid: string;
  kind: MediaKind;
  /** The codec it carries (every track bound to it has this codec). */
  codec: CodecParameters;
  payloadType: number;
  /** RTX for retransmissions (video), with this payload type, if given. */
  rtxPayloadType?: number;
}

/**
 * Adds a sendonly m-line to `pc` (a libdatachannel Track with the codec, fresh
 * SSRCs and, for video, `ccm fir` feedback and RTX when asked for) and returns
 * the Consumer that sends on it.
 */
export function addSendingMLine(ctx: TransportContext, pc: PeerConnection, line: SendingMLine): Consumer {
  const { mid, codec, payloadType } = line;
  const ssrc = randomSsrc();
  let media: Audio | Video;
  let rtx: { ssrc: number; payloadType: number } | undefined;
  if (line.kind === 'video') {
    const video = new ctx.binding.Video(mid, 'SendOnly');
    const name = `${encodingName(codec)}/${codec.clockRate}`;
    if (codec.fmtp) video.addVideoCodec(payloadType, name, codec.fmtp);
    else video.addVideoCodec(payloadType, name);
    video.parseSdpLine(`a=rtcp-fb:${payloadType} ccm fir`);
    if (line.rtxPayloadType !== undefined) {
      rtx = { ssrc: randomSsrc(), payloadType: line.rtxPayloadType };
      video.addRTXCodec(rtx.payloadType, payloadType, codec.clockRate);
    }
    media = video;
  } else {
    const audio = new ctx.binding.Audio(mid, 'SendOnly');
    const channels = codec.channels ? `/${codec.channels}` : '';
    const name = `${encodingName(codec)}/${codec.clockRate}${channels}`;
    if (codec.fmtp) audio.addAudioCodec(payloadType, name, codec.fmtp);
    else audio.addAudioCodec(payloadType, name);
    media = audio;
  }
  // libdatachannel routes the receiver's RTCP by these SSRCs; the track they carry is written into each description.
  media.addSSRC(ssrc, mid);
  if (rtx) media.addSSRC(rtx.ssrc, mid);
  const track = pc.addTrack(media);
  const retransmissionBudget =
    line.kind === 'video' ? new RetransmissionBudget({ ...DEFAULT_RETRANSMISSION_BUDGET, slots: ctx.settings.retransmissionBufferPackets }) : undefined;
  return new Consumer({
    mid,
    track,
    ssrc,
    payloadType,
    clockRate: codec.clockRate,
    ...(rtx ? { rtx } : {}),
    ...(retransmissionBudget ? { retransmissionBudget } : {}),
  });
}

function randomSsrc(): number {
  return randomInt(1, 0xffffffff);
}
