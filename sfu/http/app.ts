// The HTTP API (koa): health and readiness probes, and the built web client,
// every response with security headers (securityHeaders.ts).
// The WebSocket endpoint shares the same server (see signaling/wsServer.ts).
import fs from 'node:fs';
import path from 'node:path';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import serve from 'koa-static';
import type { Logger } from '../log.ts';
import { type DevTokenOptions, devTokenRoutes } from './devTokens.ts';
import { jsonErrors } from './errors.ts';
import { securityHeaders } from './securityHeaders.ts';

export interface Readiness {
  /** Live mediasoup workers. */
  workers(): number;
  /** Indexes of workers that died too often and are not restarted. */
  crashLooping(): number[];
  /** Shutting down: no new calls here. */
  draining(): boolean;
  /** Whether the database answers a query. */
  database(): Promise<boolean>;
  /** Cluster mode: whether Redis answers (reported, like the database; rooms open here go on without it). */
  redis?(): boolean;
}

export interface HttpAppOptions {
  readiness: Readiness;
  /** Folder of the built web client. */
  webRoot: string;
  /** Dev mode: serve POST /dev/token. */
  devTokens?: DevTokenOptions;
  /** Extra routers (the admin API). */
  routers?: Router[];
  /** Cluster mode: every node's signaling URL, which the page may connect to (CSP). */
  clusterNodes?: () => string[];
  log: Logger;
}

export function createHttpApp({ readiness, webRoot, devTokens, routers = [], clusterNodes, log }: HttpAppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  // First: jsonErrors answers every error itself, so these headers are never cleared by koa's own error handler.
  app.use(securityHeaders(clusterNodes));
  app.use(jsonErrors(log));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' }));

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  // Ready = this process can take calls: it is not draining, it has workers and
  // none is crash-looping. The database is reported but does not decide: calls
  // go on without it (their records wait in memory).
  router.get('/readyz', async (ctx) => {
    const workers = readiness.workers();
    const crashLooping = readiness.crashLooping();
    const draining = readiness.draining();
    const database = await readiness.database();
    const ready = !draining && workers > 0 && crashLooping.length === 0;
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: draining ? 'draining' : ready ? 'ready' : 'not ready',
      workers,
      ...(crashLooping.length ? { crashLooping } : {}),
      database: database ? 'reachable' : 'unreachable',
      ...(readiness.redis ? { redis: readiness.redis() ? 'reachable' : 'unreachable' } : {}),
    };
  });

  for (const r of [router, ...(devTokens ? [devTokenRoutes(devTokens)] : []), ...routers]) {
    app.use(r.routes());
    app.use(r.allowedMethods());
  }

  if (fs.existsSync(path.join(webRoot, 'index.html'))) {
    app.use(serve(webRoot, { index: 'index.html' }));
  } else {
    app.use((ctx) => {
      if (ctx.path !== '/') return;
      ctx.status = 503;
      ctx.body = 'The web client is not built. Run: npm run build:web\n';
    });
  }
  return app;
}
