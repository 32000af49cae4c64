// The HTTP API (koa): health and readiness probes, and the built web client.
// The WebSocket endpoint shares the same server (see signaling/wsServer.ts).
import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import serve from 'koa-static';

export interface Readiness {
  /** Live mediasoup workers. */
  workers(): number;
  /** Whether the database answers a query. */
  database(): Promise<boolean>;
}

export function createHttpApp(readiness: Readiness, webRoot: string): Koa {
  const app = new Koa();
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    const workers = readiness.workers();
    const database = await readiness.database();
    const ready = workers > 0 && database;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not ready', workers, database: database ? 'reachable' : 'unreachable' };
  });

  app.use(router.routes());
  app.use(router.allowedMethods());

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
