// HTTP errors: every failure is JSON {error: {code, message}} with a stable
// code (the same codes as the WebSocket protocol, plus UNAUTHORIZED).
import type Koa from 'koa';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';

const statusOf: Record<string, number> = {
  BAD_JSON: 400,
  INVALID_MESSAGE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  MESSAGE_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  ROOM_CLOSED: 409,
  INVALID_STATE: 409,
  SERVER_BUSY: 503,
  CLUSTER_UNAVAILABLE: 503,
};

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function jsonErrors(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/admin')) {
        throw new HttpError(404, 'NOT_FOUND', `no such endpoint: ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      let status = 500;
      let code = 'INTERNAL';
      let message = 'internal error';
      if (err instanceof HttpError) ({ status, code, message } = err);
      else if (err instanceof ChorusError) ({ code, message } = err), (status = statusOf[err.code] ?? 400);
      else if ((err as { status?: number }).status && (err as { status: number }).status < 500) {
        // koa / body parser errors: malformed JSON, too large.
        status = (err as { status: number }).status;
        code = status === 413 ? 'MESSAGE_TOO_LARGE' : 'BAD_JSON';
        message = (err as Error).message;
      } else log.error('HTTP request failed', { path: ctx.path, error: err as Error });
      ctx.status = status;
      ctx.body = { error: { code, message } };
    }
  };
}
