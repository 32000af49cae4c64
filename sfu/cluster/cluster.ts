// Cluster mode (cluster.redisUrl set): the Redis connection, this node's
// heartbeat in the node registry, the router that places rooms and renews
// their leases, rooms across nodes (octo) and the watch over their other ends
// (spanWatch). Built by the composition root after the rooms exist, closed in
// reverse: watch, octo and its link, router (leases given up), registry
// (heartbeat removed), Redis.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { WorkerPool } from '../media/workerPool.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import { SIGNALING_PATH } from '../../protocol/messages.ts';
import { ClusterRouter, type ClusterRouterMetrics } from './clusterRouter.ts';
import { nodeLoad } from './load.ts';
import { NodeLink } from './nodeLink.ts';
import { Octo } from './octo.ts';
import type { PipeListen } from './pipeLink.ts';
import { NodeRegistry } from './nodeRegistry.ts';
import { openRedis } from './redis.ts';
import { RoomLeases } from './roomLeases.ts';
import { type SpanGauges, spanGauges } from './spanGauges.ts';
import { SpanWatch, type SpanWatchMetrics } from './spanWatch.ts';

/** What the metrics module reads of the cluster at scrape time. */
export interface ClusterState {
  nodeId: string;
  /** This node's heartbeat is in Redis. */
  up(): boolean;
  /** Live nodes as of the last heartbeat. */
  liveNodes(): number;
  /** Rooms whose lease this node holds. */
  ownedRooms(): number;
  /** Rooms here spanning nodes, by role, and the voices crossing between nodes. */
  spanning(): SpanGauges;
}

export interface Cluster extends ClusterState {
  router: ClusterRouter;
  /** Rooms across nodes: satellites here and of rooms here. */
  octo: Octo;
  /** Redis answers now (for /readyz). */
  redisReachable(): boolean;
  /** Origins of every node's pages (cluster.publicUrl): their sockets are allowed on this node. */
  origins(): string[];
  /** Signaling URLs of every node: the web page may connect to them (CSP). */
  nodeUrls(): string[];
  /**
   * Dev tokens: may this node hand out the moderator token of `room` (nobody
   * else owns it, nobody claimed it in the last `claimMs` on any node)? False
   * while Redis is unreachable (no new rooms then anyway).
   */
  claimDevModerator(room: string, claimMs: number): Promise<boolean>;
  /** SIGTERM: tell the others we take no new rooms (before the rooms close). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** ws(s)://host[:port]/ws for a page address http(s)://host[:port]. */
export function signalingUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}${SIGNALING_PATH}`;
}

export interface ClusterDeps {
  nodeId: string;
  pool: WorkerPool;
  rooms: RoomRegistry;
  metrics: ClusterRouterMetrics & SpanWatchMetrics;
  /** Where PipeTransports to other nodes listen (rooms across nodes). */
  pipe: PipeListen;
  log: Logger;
}

export function startCluster(config: Config['cluster'], { nodeId, pool, rooms, metrics, pipe, log }: ClusterDeps): Cluster {
  const onError = () => metrics.clusterRedisError();
  const redis = openRedis(config.redisUrl, log, onError);
  const nodes = new NodeRegistry(
    redis,
    { id: nodeId, url: signalingUrl(config.publicUrl), publicUrl: config.publicUrl, heartbeatMs: config.heartbeatMs, nodeTtlMs: config.nodeTtlMs },
    nodeLoad(pool, rooms),
    log,
    onError,
  );
  const leases = new RoomLeases(redis.client, config.leaseMs);
  const router = new ClusterRouter(redis, leases, nodes, rooms, config, log, metrics);
  const link = new NodeLink(redis, nodeId, log.child('link'));
  const octo = new Octo(redis, link, nodes, rooms, { maxParticipantsPerNodePerRoom: config.maxParticipantsPerNodePerRoom, leaseMs: config.leaseMs, pipe }, log.child('octo'));
  router.span = octo;
  octo.start();
  const watch = new SpanWatch(redis, leases, nodes, octo, router, config, log.child('span'), metrics);
  router.heirs = watch;
  watch.start();
  // The first heartbeat goes out as soon as Redis is ready, not a heartbeat later.
  redis.client.on('ready', () => void nodes.beat());
  nodes.start();
  router.start();
  log.info('cluster mode', { node: nodeId, publicUrl: config.publicUrl });
  return {
    nodeId,
    router,
    octo,
    up: () => nodes.up,
    liveNodes: () => nodes.nodes.length,
    ownedRooms: () => router.ownedRooms,
    spanning: spanGauges(rooms, octo),
    redisReachable: () => redis.reachable,
    origins: () => nodes.nodes.map((n) => new URL(n.publicUrl).origin),
    nodeUrls: () => router.nodeUrls(),
    drain: () => nodes.setDraining(),
    claimDevModerator: (room, claimMs) => leases.claimDevModerator(room, nodeId, claimMs).catch(() => false),
    async close() {
      await watch.close();
      octo.close();
      await link.close();
      await router.close();
      await nodes.close();
      await redis.close();
    },
  };
}
