import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { heldHandles } from '../binding/keep-until-closed.js';
import type { Binding } from '../binding/load-binding.js';
import type { MediaBus } from '../bus/media-bus.js';
import { counters } from '../forwarding/counters.js';
import { Router } from '../forwarding/router.js';
import { SdpError } from '../sdp/sdp.js';
import { PublisherTransport } from '../transport/publisher-transport.js';
import { InvalidStateError, SubscriberTransport } from '../transport/subscriber-transport.js';
import { warnLimited, type EmitEvent, type TransportContext } from '../transport/transport-context.js';
import { UdpMuxHolder } from '../transport/udp-mux-holder.js';
import { PortBudget } from '../transport/port-budget.js';
import { ViewerTransport } from '../transport/viewer-transport.js';
import type { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import type { MediaSettings, ProducerInfo, WorkerRequests, WorkerStats } from './protocol.js';
import { WorkerRequestError } from './request-error.js';

interface ParticipantMedia {
  room: string;
  log: Logger;
  /** The server-offered connection a WebSocket client receives on. */
  subscriber?: SubscriberTransport;
  /** Or the connection a WHEP client offered. */
  viewer?: ViewerTransport;
  publisher?: PublisherTransport;
  /** Subscriber connections replaced after failing since one last connected. */
  subscriberRestarts: number;
}

/** The event-loop delay monitor's sampling timer, ms; its samples include this interval. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** A delay sample (ns, timer interval included) as the lag beyond the interval, ms. */
function lagMs(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e6 - LOOP_DELAY_RESOLUTION_MS);
}

/** A participant whose subscriber connection keeps failing is left alone after this many restarts in a row. */
const MAX_SUBSCRIBER_RESTARTS = 3;

type Handlers = { [N in keyof WorkerRequests]: (params: WorkerRequests[N][0]) => WorkerRequests[N][1] | Promise<WorkerRequests[N][1]> };

/**
 * Everything one media worker thread holds: the participants' connections,
 * the router between their producers and consumers, and the handlers of the
 * control plane's requests.
 */
export class MediaWorker {
  private readonly participants = new Map<string, ParticipantMedia>();
  private readonly router: Router;
  private readonly ctx: TransportContext;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private lastUtilization: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly muxHolder: UdpMuxHolder | undefined;

  constructor(
    readonly nodeId: string,
    readonly workerId: number,
    binding: Binding,
    settings: MediaSettings,
    readonly bus: MediaBus,
    emit: EmitEvent,
    private readonly log: Logger,
    limitedLog: RateLimitedLog,
  ) {
    this.router = new Router(nodeId, workerId, settings, bus);
    const ports = PortBudget.forSettings(settings);
    this.ctx = { nodeId, workerId, binding, settings, router: this.router, bus, emit, log, limitedLog, ...(ports ? { ports } : {}) };
    this.muxHolder = UdpMuxHolder.open(binding, settings);
    this.loopDelay.enable();
  }

  readonly handlers: Handlers = {
    createParticipant: ({ participantId, room, identity, receiving, producers }) => {
      if (this.participants.has(participantId)) throw new WorkerRequestError('INVALID_STATE', 'participant exists');
      const log = this.log.child({ room, participant: participantId, identity });
      const media: ParticipantMedia = { room, log, subscriberRestarts: 0 };
      if (receiving === 'offer') media.subscriber = this.newSubscriber(participantId, log, producers, false);
      if (receiving === 'answer') media.viewer = new ViewerTransport({ ...this.ctx, log }, participantId, () => this.viewerFailed(participantId, media));
      this.participants.set(participantId, media);
      log.debug({ receiving }, 'participant media created');
    },
    publish: async ({ participantId, sdp, candidatesInAnswer }) => {
      try {
        return await this.publisherOf(participantId).applyOffer(sdp, candidatesInAnswer);
      } catch (error) {
        if (error instanceof SdpError) throw new WorkerRequestError('INVALID_SDP', error.message);
        throw error;
      }
    },
    viewerOffer: async ({ participantId, sdp }) => {
      const viewer = this.participant(participantId).viewer;
      if (!viewer) throw new WorkerRequestError('INVALID_STATE', 'this participant has no viewer connection');
      try {
        return { sdp: await viewer.applyOffer(sdp) };
      } catch (error) {
        if (error instanceof SdpError) throw new WorkerRequestError('INVALID_SDP', error.message);
        if (error instanceof InvalidStateError) throw new WorkerRequestError('INVALID_STATE', error.message);
        throw error;
      }
    },
    subscriberAnswer: ({ participantId, sdp, offerId }) => {
      const subscriber = this.participant(participantId).subscriber;
      if (!subscriber) throw new WorkerRequestError('INVALID_STATE', 'this participant has no subscriber connection');
      try {
        subscriber.applyAnswer(sdp, offerId);
      } catch (error) {
        if (error instanceof SdpError) throw new WorkerRequestError('INVALID_SDP', error.message);
        if (error instanceof InvalidStateError) throw new WorkerRequestError('INVALID_STATE', error.message);
        throw error;
      }
    },
    addCandidate: ({ participantId, role, candidate, mid }) => {
      const transport = role === 'publisher' ? this.publisherOf(participantId) : this.receiving(participantId);
      if (!transport) throw new WorkerRequestError('INVALID_STATE', 'this participant has no receiving connection');
      try {
        transport.addRemoteCandidate(candidate, mid);
      } catch (error) {
        if (error instanceof WorkerRequestError) throw error;
        throw new WorkerRequestError('INVALID_SDP', `bad candidate: ${(error as Error).message}`);
      }
    },
    consume: ({ participantId, producer }) => {
      this.receiving(participantId)?.addConsumer(producer);
    },
    unconsume: ({ participantId, trackId }) => {
      if (this.participants.has(participantId)) this.receiving(participantId)?.removeConsumer(trackId);
    },
    closeParticipant: ({ participantId }) => {
      this.closeParticipant(participantId);
    },
    sendData: ({ participantId, unreliable, message }) => {
      return this.participants.get(participantId)?.subscriber?.sendData(unreliable, message) ?? 'unavailable';
    },
    getStats: () => this.stats(),
    producers: () => this.router.producerInfos(),
    shutdown: () => this.closeAll(),
    crash: () => {
      setImmediate(() => {
        throw new Error('crash requested');
      });
    },
  };

  closeParticipant(participantId: string): void {
    const participant = this.participants.get(participantId);
    if (!participant) return;
    this.participants.delete(participantId);
    participant.publisher?.close();
    participant.subscriber?.close();
    participant.viewer?.close();
    participant.log.debug('participant media closed');
  }

  closeAll(): void {
    for (const participantId of [...this.participants.keys()]) this.closeParticipant(participantId);
    this.muxHolder?.close();
    this.router.close();
    this.bus.close();
    this.loopDelay.disable();
  }

  stats(): WorkerStats {
    let producers = 0;
    let consumers = 0;
    for (const p of this.participants.values()) {
      producers += p.publisher?.producerCount ?? 0;
      consumers += (p.subscriber ?? p.viewer)?.consumerCount ?? 0;
    }
    const utilization = performance.eventLoopUtilization(this.lastUtilization);
    this.lastUtilization = performance.eventLoopUtilization();
    const stats: WorkerStats = {
      workerId: this.workerId,
      participants: this.participants.size,
      producers,
      consumers,
      ...counters,
      eventLoopLagP50Ms: lagMs(this.loopDelay.percentile(50)),
      eventLoopLagP99Ms: lagMs(this.loopDelay.percentile(99)),
      eventLoopLagMaxMs: lagMs(this.loopDelay.max),
      eventLoopUtilization: utilization.utilization,
      nativeHandlesHeld: heldHandles(),
    };
    this.loopDelay.reset();
    return stats;
  }

  /** The participant's publisher connection, created with its first offer or candidate. */
  private publisherOf(participantId: string): PublisherTransport {
    const participant = this.participant(participantId);
    participant.publisher ??= new PublisherTransport({ ...this.ctx, log: participant.log }, participantId, () =>
      this.publisherFailed(participantId, participant),
    );
    return participant.publisher;
  }

  private newSubscriber(participantId: string, log: Logger, producers: ProducerInfo[], restart: boolean): SubscriberTransport {
    const subscriber: SubscriberTransport = new SubscriberTransport({ ...this.ctx, log }, participantId, {
      producers,
      restart,
      onConnected: () => {
        const participant = this.participants.get(participantId);
        if (participant?.subscriber === subscriber) participant.subscriberRestarts = 0;
      },
      onFailed: () => this.subscriberFailed(participantId, subscriber),
    });
    return subscriber;
  }

  /**
   * A failed publisher connection is closed with its tracks (the control plane
   * unpublishes them and tells the client, which can publish again).
   */
  private publisherFailed(participantId: string, participant: ParticipantMedia): void {
    const publisher = participant.publisher;
    if (!publisher || this.participants.get(participantId) !== participant) return;
    warnLimited({ ...this.ctx, log: participant.log }, 'publisher failed', {}, 'publisher connection failed; closing it and its tracks');
    const producers = publisher.producerInfos();
    participant.publisher = undefined;
    publisher.close();
    for (const producer of producers) this.ctx.emit({ type: 'producerClosed', participantId, trackId: producer.trackId });
    this.ctx.emit({ type: 'publisherFailed', participantId });
  }

  /** A failed viewer connection is closed (a WHEP client cannot be offered a new one): the control plane ends its session. */
  private viewerFailed(participantId: string, participant: ParticipantMedia): void {
    const viewer = participant.viewer;
    if (!viewer || this.participants.get(participantId) !== participant) return;
    warnLimited({ ...this.ctx, log: participant.log }, 'viewer failed', {}, 'viewer connection failed; closing it');
    participant.viewer = undefined;
    viewer.close();
    this.ctx.emit({ type: 'subscriberFailed', participantId, restarts: 0 });
  }

  /**
   * A failed subscriber connection is replaced by a new one carrying the same
   * tracks, at most MAX_SUBSCRIBER_RESTARTS times in a row; then it is closed.
   */
  private subscriberFailed(participantId: string, failed: SubscriberTransport): void {
    const participant = this.participants.get(participantId);
    if (!participant || participant.subscriber !== failed) return;
    if (participant.subscriberRestarts >= MAX_SUBSCRIBER_RESTARTS) {
      // Closed, not left "connecting" or failed: the control plane tells the client.
      warnLimited({ ...this.ctx, log: participant.log }, 'subscriber closed', { restarts: participant.subscriberRestarts }, 'subscriber connection failed again; closing it');
      failed.close();
      this.ctx.emit({ type: 'subscriberFailed', participantId, restarts: participant.subscriberRestarts });
      return;
    }
    participant.subscriberRestarts++;
    warnLimited({ ...this.ctx, log: participant.log }, 'subscriber restarted', { restarts: participant.subscriberRestarts }, 'subscriber connection failed; offering a new one');
    const producers = failed.consumedProducers();
    failed.close();
    try {
      participant.subscriber = this.newSubscriber(participantId, participant.log, producers, true);
    } catch (error) {
      // No port for the replacement (MEDIA_PORTS_EXHAUSTED): closed, as when the restarts run out.
      warnLimited({ ...this.ctx, log: participant.log }, 'subscriber not restarted', { err: error }, 'subscriber connection failed and cannot be replaced now; closing it');
      participant.subscriber = undefined;
      this.ctx.emit({ type: 'subscriberFailed', participantId, restarts: participant.subscriberRestarts });
    }
  }

  /** The connection the participant receives on (subscriber or viewer), if it has one. */
  private receiving(participantId: string): SubscriberTransport | ViewerTransport | undefined {
    const participant = this.participant(participantId);
    return participant.subscriber ?? participant.viewer;
  }

  private participant(participantId: string): ParticipantMedia {
    const participant = this.participants.get(participantId);
    if (!participant) throw new WorkerRequestError('UNKNOWN_PARTICIPANT', `no participant ${participantId} on this worker`);
    return participant;
  }
}
