// Dev mode only (auth.devTokens): POST /dev/token {room, name, role?} gives a
// join token to anyone, so the web client works without an app backend.
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import type { TokenService } from '../auth/tokens.ts';
import { describeIssues, displayName, roleSchema, roomName } from '../../protocol/messages.ts';
import { HttpError } from './errors.ts';

const body = z.strictObject({ room: roomName, name: displayName, role: roleSchema.default('speaker') });

export function devTokenRoutes(tokens: TokenService, ttlSeconds: number): Router {
  const router = new Router();
  router.post('/dev/token', async (ctx) => {
    const parsed = body.safeParse(ctx.request.body);
    if (!parsed.success) throw new HttpError(400, 'INVALID_MESSAGE', describeIssues(parsed.error));
    const { room, name, role } = parsed.data;
    const token = await tokens.sign({ identity: `dev-${randomUUID()}`, room, displayName: name, role }, ttlSeconds);
    ctx.body = { token, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() };
  });
  return router;
}
