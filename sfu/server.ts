// The composition root: builds Chorus from a validated config, in order
// (database → workers → rooms → HTTP + WebSocket), and takes it down in reverse.
// Whatever it opens, it closes in stop().
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { TokenService } from './auth/tokens.ts';
import { type Cluster, startCluster } from './cluster/cluster.ts';
import type { Config } from './config/schema.ts';
import { type Db, isReachable, migrateToLatest, openDatabase } from './db/database.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './db/embedded.ts';
import { SessionRecorder } from './db/sessionRecorder.ts';
import { adminRoutes } from './http/admin.ts';
import { metricsRoutes } from './http/metricsRoute.ts';
import { mediaState } from './metrics/mediaState.ts';
import { Metrics } from './metrics/metrics.ts';
import { StatsSampler } from './metrics/statsSampler.ts';
import { createHttpApp } from './http/app.ts';
import { rateLimit } from './http/rateLimit.ts';
import type { Logger } from './log.ts';
import { resolveAnnouncedAddress } from './media/announcedAddress.ts';
import { WorkerPool } from './media/workerPool.ts';
import { webDist } from './paths.ts';
import { RoomRegistry } from './rooms/roomRegistry.ts';
import { SignalingServer } from './signaling/wsServer.ts';

export interface ChorusServer {
  /** http://host:port the server listens on. */
  url: string;
  port: number;
  pool: WorkerPool;
  rooms: RoomRegistry;
  recorder: SessionRecorder;
  db: Db;
  signaling: SignalingServer;
  tokens: TokenService;
  metrics: Metrics;
  sampler: StatsSampler;
  /** This node's id (cluster.nodeId, or made at start). */
  nodeId: string;
  /** Cluster mode only (cluster.redisUrl set). */
  cluster?: Cluster;
  /** Stop taking calls: /readyz says draining, new joins are refused, every client is told (roomClosed: serverShutdown). */
  drain(): Promise<void>;
  /** Drains, then closes everything in reverse order of opening. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Folder of the built web client (default web/dist). */
  webRoot?: string;
}

export async function startChorus(config: Config, log: Logger, { webRoot = webDist }: StartOptions = {}): Promise<ChorusServer> {
  const closers: (() => Promise<void> | void)[] = [];
  let draining = false;
  /** Set once the rooms and sockets exist. */
  let drainCalls: (() => Promise<void>) | undefined;
  const drain = async () => {
    if (draining) return;
    draining = true;
    log.info('draining: refusing new calls and telling every client');
    await drainCalls?.();
  };
  const stop = async () => {
    await drain();
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        log.warn('error while stopping', { error: err as Error });
      }
    }
  };

  try {
    // Database: the configured server, or the embedded one.
    let url = config.database.url;
    let embedded: EmbeddedPostgres | undefined;
    if (!url) {
      embedded = await startEmbeddedPostgres(config.database.embeddedDataDir);
      closers.push(() => embedded!.close());
      url = embedded.url;
      log.info('using the embedded PostgreSQL (set DATABASE_URL for a real server)', {
        dataDir: config.database.embeddedDataDir,
      });
    }
    const db = openDatabase(url, { maxConnections: embedded ? 1 : 5 });
    closers.push(() => db.destroy());
    const applied = await migrateToLatest(db);
    if (applied.length) log.info('database migrated', { applied });

    // Media workers.
    const count = config.media.workers === 'auto' ? os.availableParallelism() : config.media.workers;
    const announcedAddress = resolveAnnouncedAddress(config.media.announcedAddress, config.media.listenIp);
    const pool = await WorkerPool.create({
      count,
      listenIp: config.media.listenIp,
      announcedAddress,
      rtcPortBase: config.media.rtcPortBase,
      workerLogLevel: config.media.workerLogLevel,
      restarts: config.media.workerRestarts,
      health: config.media.healthCheck,
      log: log.child('workers'),
    });
    closers.push(() => pool.close());
    log.info('media workers ready', { workers: count, announcedAddress });

    // Rooms, and their record in the database.
    const rooms = new RoomRegistry(
      pool,
      {
        ...config.rooms,
        maxConsumersPerWorker: config.media.maxConsumersPerWorker,
        speakingThresholdDbov: config.audio.speakingThresholdDbov,
        levelIntervalMs: config.audio.levelIntervalMs,
      },
      log.child('rooms'),
    );
    // Metrics, and the statistics sampler that feeds them and the quality records.
    const metrics: Metrics = new Metrics(mediaState(pool, rooms, (): number => recorder.queued), config.metrics);
    const clustered = config.cluster.redisUrl !== '';
    const nodeId = config.cluster.nodeId || `${os.hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 48)}-${randomBytes(3).toString('hex')}`;
    const recorder: SessionRecorder = new SessionRecorder(db, config.database, log.child('db'), metrics, clustered ? nodeId : null);
    recorder.attach(rooms);
    pool.on('workerDied', (w) => metrics.forgetWorker(w.index));
    const sampler = new StatsSampler(rooms, pool, metrics, log.child('stats'));
    sampler.start(config.metrics.statsIntervalMs);
    rooms.on('participantLeft', (_room, p) => recorder.recordQuality(p.id, sampler.summaryOf(p)));
    const qualityTimer = setInterval(() => {
      for (const room of rooms.rooms.values()) {
        for (const p of room.participants.values()) recorder.recordQuality(p.id, sampler.summaryOf(p));
      }
    }, config.metrics.qualityWriteIntervalMs);
    qualityTimer.unref();
    closers.push(() => {
      clearInterval(qualityTimer);
      return sampler.stop();
    });
    closers.push(async () => {
      await recorder.flush(5_000);
      recorder.stop();
    });
    closers.push(() => rooms.close());

    // Cluster mode: this node in Redis (heartbeat, room leases, placement).
    let cluster: Cluster | undefined;
    if (clustered) {
      cluster = startCluster(config.cluster, {
        nodeId,
        pool,
        rooms,
        metrics,
        pipe: { ip: config.cluster.pipeListenIp || config.media.listenIp, announcedAddress: config.cluster.pipeAnnouncedAddress || announcedAddress },
        log: log.child('cluster'),
      });
      closers.push(() => cluster!.close());
      metrics.watchCluster(cluster);
    }

    // Join tokens.
    if (!config.auth.secret) log.warn('auth.secret is empty: join tokens are signed with a random secret made now');
    const tokens = new TokenService(config.auth.secret || randomBytes(32).toString('base64url'));
    if (config.auth.devTokens) {
      log.warn('dev mode: POST /dev/token gives anyone a join token; set auth.devTokens to false in production');
    }

    // HTTP + WebSocket on one port.
    const limit = (what: string, limits: Config['http']['rateLimits']['admin']) =>
      rateLimit(what, { ...limits, trustProxy: config.signaling.trustProxy });
    const app = createHttpApp({
      readiness: {
        workers: () => pool.workers.length,
        crashLooping: () => [...pool.crashLooping],
        draining: () => draining,
        database: () => isReachable(db),
        ...(cluster ? { redis: cluster.redisReachable } : {}),
      },
      webRoot,
      devTokens: config.auth.devTokens
        ? {
            tokens,
            ttlSeconds: config.auth.devTokenTtlSeconds,
            occupants: (room: string) => rooms.rooms.get(room)?.participants.size ?? 0,
            claimModerator: cluster ? (room: string, claimMs: number) => cluster!.claimDevModerator(room, claimMs) : undefined,
            limit: limit('POST /dev/token', config.http.rateLimits.devToken),
          }
        : undefined,
      routers: [adminRoutes(rooms, config.admin.secret, limit('the admin API', config.http.rateLimits.admin)), metricsRoutes(metrics)],
      clusterNodes: cluster?.nodeUrls,
      log: log.child('http'),
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => resolve());
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const signaling = new SignalingServer(
      server,
      rooms,
      tokens,
      {
        ...config.signaling,
        audioMaxBitrate: config.audio.maxBitrate,
        maxIncomingBitrate: config.audio.maxIncomingBitrate,
        turn: config.turn,
        metrics,
        router: cluster?.router,
        clusterOrigins: cluster?.origins,
      },
      log.child('ws'),
    );
    closers.push(() => signaling.close());
    drainCalls = async () => {
      await cluster?.drain(); // the other nodes place no new room here from now on
      await rooms.close(); // every participant gets roomClosed (serverShutdown); new joins get SERVER_BUSY
      await signaling.flush(1_000); // let those notifications leave before the sockets close
    };

    const { port } = server.address() as AddressInfo;
    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
    const url_ = `http://${host}:${port}`;
    log.info(`Chorus is listening on ${url_}`);
    return { url: url_, port, pool, rooms, recorder, db, signaling, tokens, metrics, sampler, nodeId, cluster, drain, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
