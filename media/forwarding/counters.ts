/** Packet and byte counters of one media worker, read by its stats report. */
export const counters = {
  packetsIn: 0,
  bytesIn: 0,
  packetsOut: 0,
  bytesOut: 0,
  /** Packets sent again in answer to NACKs (included in packetsOut). */
  retransmissions: 0,
  /** NACKed packets not sent again: asked for again within the repeat window, or over the subscriber's budget. */
  retransmissionsRefused: 0,
  /** Sequence numbers a consumer's NACK named that this worker's history lacked, asked of the track's owner over the bus. */
  retransmissionsAsked: 0,
  /** Packets this worker sent again onto the bus, from its publishers' histories, in answer to such requests. */
  retransmissionsResent: 0,
  /** NACKs (RTCP packets) sent to publishers for packets lost on their way here. */
  publisherNacksSent: 0,
  /** Sequence numbers of publishers' streams found missing and NACKed (each counted once, however often asked). */
  publisherPacketsNacked: 0,
  /** Missing packets that arrived after all: sent again (on RTX or the media SSRC), or late. */
  publisherPacketsRecovered: 0,
  /** Missing packets no longer waited for (too old, NACKed too often, too many missing, or the stream restarted). */
  publisherPacketsGivenUp: 0,
};
