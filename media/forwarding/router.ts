import type { MediaBus } from '../bus/media-bus.js';
import type { MediaSettings, ProducerInfo } from '../worker/protocol.js';
import type { Consumer } from './consumer.js';
import type { Producer } from './producer.js';
import { RemoteTrackSource } from './remote-track-source.js';
import type { TrackSource } from './track-source.js';

/**
 * Connects consumers to their track's source on this worker: the local
 * Producer when the publisher is here, otherwise a RemoteTrackSource fed by the
 * media bus, created with the first consumer and closed with the last.
 */
export class Router {
  private readonly producers = new Map<string, Producer>();
  private readonly remote = new Map<string, RemoteTrackSource>();

  constructor(
    private readonly nodeId: string,
    private readonly workerId: number,
    private readonly settings: MediaSettings,
    private readonly bus: MediaBus,
  ) {}

  get producerCount(): number {
    return this.producers.size;
  }

  producerInfos(): ProducerInfo[] {
    return [...this.producers.values()].map((producer) => producer.info);
  }

  addProducer(producer: Producer): void {
    this.producers.set(producer.trackId, producer);
  }

  removeProducer(producer: Producer): void {
    if (this.producers.get(producer.trackId) === producer) this.producers.delete(producer.trackId);
    producer.close();
  }

  attach(consumer: Consumer, info: ProducerInfo): void {
    this.sourceFor(info)?.attach(consumer);
  }

  /** Unbinds the consumer from its track (the remote source goes with its last consumer). */
  detach(consumer: Consumer): void {
    const trackId = consumer.trackId;
    consumer.unbind();
    const remote = trackId === undefined ? undefined : this.remote.get(trackId);
    if (remote && remote.consumers.size === 0) {
      remote.close();
      this.remote.delete(trackId!);
    }
  }

  close(): void {
    for (const source of this.remote.values()) source.close();
    this.remote.clear();
    for (const producer of this.producers.values()) producer.close();
    this.producers.clear();
  }

  private sourceFor(info: ProducerInfo): TrackSource | undefined {
    const local = this.producers.get(info.trackId);
    if (local) return local;
    // A track published on this worker that is gone: nothing to attach to.
    if (info.nodeId === this.nodeId && info.workerId === this.workerId) return undefined;
    let remote = this.remote.get(info.trackId);
    if (!remote) {
      remote = new RemoteTrackSource(info, this.settings, this.bus);
      this.remote.set(info.trackId, remote);
    }
    return remote;
  }
}
