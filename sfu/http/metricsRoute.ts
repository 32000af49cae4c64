import Router from '@koa/router';
import type { Metrics } from '../metrics/metrics.ts';

/** GET /metrics: the Prometheus text exposition. */
export function metricsRoutes(metrics: Metrics): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.contentType();
    ctx.body = await metrics.render();
  });
  return router;
}
