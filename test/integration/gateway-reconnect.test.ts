import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Events } from 'nats';
import pino from 'pino';
import { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import { MediaGateway } from '../../media/gateway/media-gateway.js';
import { closeGateway, connectGateway, GATEWAY_DIAL_TIMEOUT_MS } from '../../media/gateway/nats-connect.js';
import { NatsCluster } from '../support/nats.js';

/**
 * After all NATS servers restarted, a gateway's reconnect could dial a server
 * still shutting down: the TCP connection is accepted, no INFO ever comes, and
 * nats.js waited its default 20 s before trying again, with media between
 * nodes stopped all along (2 runs in 30 of cluster-nodes.test.ts). Here a
 * listener that accepts and never answers stands on the server's port while it
 * is down; the gateway must be back within the 5 s media-resumption bound once
 * the real server is.
 */
test('a gateway whose reconnect dials a server that accepts but never answers gives up on it and is back within 5 s of NATS', { timeout: 60_000 }, async () => {
  const nats = await NatsCluster.start(1);
  const server = nats.servers[0]!;
  const log = pino({ level: 'silent' });
  const gateway = new MediaGateway('reconnect-test', log, new RateLimitedLog(log));
  const nc = await connectGateway(gateway, { nodeId: 'reconnect-test', servers: [server.url], log, limitedLog: new RateLimitedLog(log), stopping: () => false });
  assert.ok(nc);
  const held: Socket[] = [];
  try {
    const reconnected = (async () => {
      for await (const status of nc.status()) if (status.type === Events.Reconnect) return performance.now();
      return undefined;
    })();
    await nats.stop(0);
    const silent = createServer((socket) => held.push(socket));
    silent.listen(server.clientPort, '127.0.0.1');
    await once(silent, 'listening');
    await once(silent, 'connection'); // the gateway dialled it, and waits for an INFO that never comes
    silent.close();
    await nats.startAll();
    const back = performance.now();
    const at = await reconnected;
    assert.ok(at !== undefined, 'reconnected');
    const afterMs = Math.max(0, at - back);
    process.stderr.write(`gateway reconnected ${Math.round(afterMs)} ms after NATS was back (dial timeout ${GATEWAY_DIAL_TIMEOUT_MS} ms)\n`);
    assert.ok(afterMs < 5000, `reconnected ${Math.round(afterMs)} ms after NATS was back`);
  } finally {
    for (const socket of held) socket.destroy();
    await closeGateway(gateway, nc);
    await nats.close();
  }
});
