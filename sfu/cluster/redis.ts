// The one Redis connection of a cluster node. Opened by startCluster and closed
// by it (last of the cluster's parts) when Chorus stops.
//
// Commands never wait for a connection: with no offline queue, a command while
// Redis is unreachable fails at once (and one in flight fails after
// COMMAND_TIMEOUT_MS), so a join is answered CLUSTER_UNAVAILABLE instead of
// hanging, and heartbeats simply miss. ioredis reconnects on its own, with
// backoff; `reachable` says whether it is connected now.
//
// A Redis that hangs (SIGSTOPped, its host frozen, a network that drops
// packets without resetting) keeps the TCP connection open, so ioredis would
// stay "ready" while every command times out. A watchdog PINGs every
// COMMAND_TIMEOUT_MS; a PING that times out drops the connection, so the node
// sees Redis unreachable (as when it is down) and, once the reconnect answers
// again, Redis back (the cluster's settling rules apply to both alike).
import { Redis } from 'ioredis';
import type { Logger } from '../log.ts';

const COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

export interface ClusterRedis {
  readonly client: Redis;
  /** Connected and ready for commands now. */
  readonly reachable: boolean;
  close(): Promise<void>;
}

/** Connects in the background: Chorus starts (and serves its own rooms) whether or not Redis answers yet. */
export function openRedis(url: string, log: Logger, onError: () => void): ClusterRedis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Reconnect for ever: 0.1 s doubling to 2 s.
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  });
  let wasUp = false;
  client.on('ready', () => {
    wasUp = true;
    log.info('Redis connected', { url: redacted(url) });
  });
  client.on('error', (err) => {
    onError();
    log.debug('Redis error', { error: err });
  });
  client.on('close', () => {
    if (wasUp) log.warn('Redis connection lost: rooms open here go on, new rooms are refused until it is back');
    wasUp = false;
  });
  client.connect().catch((err: Error) => log.warn('Redis not reachable yet (retrying)', { error: err.message }));
  let pinging = false;
  const watchdog = setInterval(() => {
    if (pinging || client.status !== 'ready') return;
    pinging = true;
    client
      .ping()
      .catch((err: Error) => {
        if (client.status !== 'ready' || !/timed out/i.test(err.message)) return;
        log.warn('Redis does not answer (a PING timed out): dropping the connection, reconnecting');
        client.disconnect(true);
      })
      .finally(() => (pinging = false));
  }, COMMAND_TIMEOUT_MS);
  watchdog.unref();
  return {
    client,
    get reachable() {
      return client.status === 'ready';
    },
    async close() {
      clearInterval(watchdog);
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
