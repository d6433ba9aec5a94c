import { codecKey, type CodecParameters } from '../sdp/codecs.js';

/** Dynamic payload types (RFC 3551) first, then the range browsers use once those run out. */
const DYNAMIC_RANGES: Array<[number, number]> = [
  [96, 127],
  [35, 63],
];

/**
 * Payload types of one subscriber connection. All its m-lines share one
 * BUNDLE transport, where a payload type must mean one codec configuration
 * (RFC 8843), while each publisher numbers codecs its own way: every codec
 * configuration gets one payload type here, the publisher's when it is free.
 */
export class PayloadTypeAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();

  forCodec(codec: CodecParameters): number {
    return this.allocate(codecKey(codec), codec.payloadType);
  }

  forRtx(codec: CodecParameters): number {
    return this.allocate(`rtx|${codecKey(codec)}`, codec.payloadType + 1);
  }

  private allocate(key: string, preferred: number): number {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    // 64-95 would collide with RTCP packet types on a muxed port (RFC 5761 section 4).
    const usable = preferred >= 0 && preferred <= 127 && !(preferred >= 64 && preferred <= 95);
    let pt = usable && !this.used.has(preferred) ? preferred : undefined;
    for (const [low, high] of DYNAMIC_RANGES) {
      for (let candidate = low; pt === undefined && candidate <= high; candidate++) {
        if (!this.used.has(candidate)) pt = candidate;
      }
    }
    if (pt === undefined) throw new Error('no payload type left on this connection');
    this.used.add(pt);
    this.byKey.set(key, pt);
    return pt;
  }
}
