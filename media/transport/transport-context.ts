import type { Logger } from 'pino';
import type { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import type { RtcConfig } from 'node-datachannel';
import type { Binding } from '../binding/load-binding.js';
import type { MediaBus } from '../bus/media-bus.js';
import type { Router } from '../forwarding/router.js';
import { announceAddressInSdp, withAddress } from '../sdp/candidates.js';
import type { PortBudget } from './port-budget.js';
import type { MediaSettings, WorkerEvent } from '../worker/protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EmitEvent = (event: DistributiveOmit<WorkerEvent, 'kind'>) => void;

/** What every transport of a worker shares. */
export interface TransportContext {
  nodeId: string;
  workerId: number;
  binding: Binding;
  settings: MediaSettings;
  router: Router;
  bus: MediaBus;
  emit: EmitEvent;
  /** The participant's logger (the worker's, for the worker itself). */
  log: Logger;
  /** The worker's log for warnings a client can cause. */
  limitedLog: RateLimitedLog;
  /** The connections the worker may still open on its share of a port range; undefined with a muxed port. */
  ports?: PortBudget;
}

/**
 * A warning a client can cause (its connection failed, it sent a candidate
 * libdatachannel refused): at most a few lines per `key` (the kind of event)
 * and window, with the participant's bindings.
 */
export function warnLimited(ctx: Pick<TransportContext, 'log' | 'limitedLog'>, key: string, bindings: object, message: string): void {
  ctx.limitedLog.warn(key, { ...ctx.log.bindings(), ...bindings }, message);
}

export function rtcConfig(settings: MediaSettings): RtcConfig {
  return {
    iceServers: [],
    ...(settings.bindAddress !== '0.0.0.0' ? { bindAddress: settings.bindAddress } : {}),
    portRangeBegin: settings.portRangeBegin,
    portRangeEnd: settings.portRangeEnd,
    enableIceUdpMux: settings.portRangeBegin === settings.portRangeEnd,
  };
}

/** The node's public address in place of the bound one, when one is announced. */
export function announceCandidate(settings: MediaSettings, candidate: string): string {
  return settings.announcedAddress ? withAddress(candidate, settings.announcedAddress) : candidate;
}

export function announceSdp(settings: MediaSettings, sdp: string): string {
  return settings.announcedAddress ? announceAddressInSdp(sdp, settings.announcedAddress) : sdp;
}
