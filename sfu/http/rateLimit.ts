// A request rate limit per client address in front of an HTTP route (POST
// /dev/token, the admin API): the front door's token buckets (frontDoor.ts),
// keyed by the same client address the WebSocket limits use. Over the limit:
// HTTP 429 RATE_LIMITED with Retry-After; a refused request still costs a
// token, so a client that keeps pushing waits longer.
import type Koa from 'koa';
import { clientAddress, KeyedBuckets } from '../signaling/frontDoor.ts';
import { HttpError } from './errors.ts';

export interface RateLimitOptions {
  requestsPerSecond: number;
  requestBurst: number;
  /** Take the client address from X-Forwarded-For (as signaling.trustProxy). */
  trustProxy: boolean;
}

/** Idle addresses are forgotten at most this often (a sweep walks every bucket). */
const SWEEP_MS = 60_000;

export function rateLimit(what: string, { requestsPerSecond, requestBurst, trustProxy }: RateLimitOptions): Koa.Middleware {
  const buckets = new KeyedBuckets(requestsPerSecond, requestBurst);
  let sweptAt = Date.now();
  return async (ctx, next) => {
    const now = Date.now();
    if (now - sweptAt > SWEEP_MS) {
      buckets.sweep(now);
      sweptAt = now;
    }
    const bucket = buckets.get(clientAddress(ctx.req, trustProxy), now);
    if (bucket.take(now) !== 'ok') {
      // Until the bucket holds a whole token again.
      const wait = Math.max(1, Math.ceil((1 - bucket.balance(now)) / requestsPerSecond));
      ctx.set('Retry-After', String(wait));
      throw new HttpError(429, 'RATE_LIMITED', `too many requests to ${what}: wait ${wait} s`);
    }
    await next();
  };
}
