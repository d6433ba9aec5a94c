/**
 * A cluster store in a process of its own, driven by its parent over IPC
 * (test/support/cluster-stores.ts: StoreProcess), so that tests can SIGKILL
 * or SIGSTOP a node. Its configuration is the JSON of SHOAL_TEST_STORE; its
 * log lines go to stdout.
 */
import pino from 'pino';
import { DEFAULT_CONFIG, type ClusterConfig } from '../../control/config.js';
import { openCluster } from '../../control/cluster/open-cluster.js';
import type { RoomStoreEvents } from '../../control/store/room-store.js';

export type StoreRequest = { id: number; op: 'ensureRoom' | 'putParticipant' | 'putTrack' | 'deleteParticipant' | 'claimIdentity' | 'participants' | 'close'; args: unknown[] };
export type StoreMessage =
  | { ready: true }
  | { failed: string }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { event: keyof RoomStoreEvents; payload: unknown };

const { nodeId, ...cluster } = JSON.parse(process.env.SHOAL_TEST_STORE!) as ClusterConfig & { nodeId: string };
const send = (message: StoreMessage) => process.send!(message);
const log = pino({ level: 'info' });

try {
  const { store, close } = await openCluster({ ...DEFAULT_CONFIG, nodeId, cluster }, log);
  for (const event of ['participantAdded', 'participantRemoved', 'trackAdded', 'trackRemoved', 'identityClaimed'] as const) {
    store.on(event, (payload: unknown) => send({ event, payload }));
  }
  process.on('message', async ({ id, op, args }: StoreRequest) => {
    try {
      const call = op === 'close' ? close : (store[op] as (...a: unknown[]) => unknown).bind(store);
      send({ id, ok: true, result: (await call(...args)) ?? null });
      if (op === 'close') process.disconnect();
    } catch (error) {
      send({ id, ok: false, error: (error as Error).message });
    }
  });
  send({ ready: true });
} catch (error) {
  send({ failed: (error as Error).message });
  process.disconnect();
}
