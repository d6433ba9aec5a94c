import { PacketHistory } from '../../media/rtp/packet-history.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import { buildRtxPacket } from '../../media/rtp/rtx.js';
import { attributes, mediaMid, parseSdp } from '../../media/sdp/sdp.js';

/** Packets of its video stream a publisher keeps for answering NACKs. */
const HISTORY_PACKETS = 1024;

/** An RTX stream (RFC 4588): its SSRC and payload type. */
export interface RtxStream {
  ssrc: number;
  payloadType: number;
}

/** Whether an answer's m-line `mid` accepted the RTX payload type offered for it. */
export function answerKeepsRtx(answerSdp: string, mid: string, rtx: RtxStream | undefined): boolean {
  const media = parseSdp(answerSdp).media.find((m) => mediaMid(m) === mid);
  return rtx !== undefined && media !== undefined && attributes(media.lines, 'rtpmap').some((v) => v.startsWith(`${rtx.payloadType} `));
}

/** Sends `original` again: as RTX on `rtx` (with `rtxSeq`) when given, else as it is on the media SSRC. */
export function retransmission(original: Uint8Array, rtx: RtxStream | undefined, rtxSeq: number): Buffer {
  return rtx ? buildRtxPacket(original, rtx.ssrc, rtx.payloadType, rtxSeq & 0xffff) : Buffer.from(original);
}

/**
 * What a browser's RTP sender does with NACKs for its video: keeps the last
 * packets it sent and sends those named again, as RTX when the answer
 * negotiated it, on the media SSRC otherwise.
 */
export class NackResponder {
  private readonly history = new PacketHistory(HISTORY_PACKETS);
  private rtxSeq = Math.floor(Math.random() * 0x10000);
  /** Packets sent again. */
  resent = 0;

  constructor(
    private readonly mediaSsrc: number,
    private readonly rtx: RtxStream | undefined,
    private readonly send: (packet: Buffer) => void,
  ) {}

  /** A packet was sent (the responder keeps a reference: it must not be reused). */
  onSent(packet: Buffer): void {
    this.history.store(packet);
  }

  onRtcp(rtcp: Buffer): void {
    for (const nack of parseFeedback(rtcp).nacks) {
      if (nack.ssrc !== this.mediaSsrc) continue;
      for (const seq of nack.seqs) {
        const packet = this.history.get(seq);
        if (!packet) continue;
        this.send(retransmission(packet, this.rtx, this.rtxSeq++));
        this.resent++;
      }
    }
  }
}
