// Dev mode only (auth.devTokens): POST /dev/token {room, name, role?} gives a
// join token to anyone, so the web client works without an app backend.
//
// Nobody chooses to be a moderator: `role` may be `speaker` (the default) or
// `listener`. The rule: a speaker's token is a *moderator* token when the room
// has nobody in it at that moment and no other moderator token for it was
// handed out in the last CLAIM_MS (so two pages opening the same link at once
// do not both get it). Everyone after that is what they asked for. In cluster
// mode the room may live on another node: the claim is also asked of Redis
// (`claimModerator`), so the rule holds across nodes.
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { TokenService } from '../auth/tokens.ts';
import { describeIssues, displayName, roomName } from '../../protocol/messages.ts';
import { HttpError } from './errors.ts';

/** How long a moderator token keeps an empty room's moderator place for its holder to join. */
export const CLAIM_MS = 10_000;

const body = z.strictObject({ room: roomName, name: displayName, role: z.string().default('speaker') });

export interface DevTokenOptions {
  tokens: TokenService;
  ttlSeconds: number;
  /** Participants in the room now (0 when it is not open). */
  occupants(room: string): number;
  /** Cluster mode: whether the other nodes agree this is the room's first moderator token (see Cluster.claimDevModerator). */
  claimModerator?(room: string, claimMs: number): Promise<boolean>;
  /** Runs before each request (the rate limit per client address). */
  limit?: Koa.Middleware;
}

export function devTokenRoutes({ tokens, ttlSeconds, occupants, claimModerator, limit = (_ctx, next) => next() }: DevTokenOptions): Router {
  const router = new Router();
  /** Rooms whose moderator token was handed out recently, and when. */
  const claims = new Map<string, number>();
  router.post('/dev/token', limit, async (ctx) => {
    const parsed = body.safeParse(ctx.request.body);
    if (!parsed.success) throw new HttpError(400, 'INVALID_MESSAGE', describeIssues(parsed.error));
    const { room, name, role: asked } = parsed.data;
    if (asked === 'moderator') {
      throw new HttpError(403, 'FORBIDDEN', 'moderator cannot be chosen: the first person in an empty room gets it');
    }
    if (asked !== 'speaker' && asked !== 'listener') {
      throw new HttpError(400, 'INVALID_MESSAGE', 'role: speaker or listener');
    }
    const now = Date.now();
    for (const [r, at] of claims) if (now - at >= CLAIM_MS) claims.delete(r);
    let role: 'speaker' | 'listener' | 'moderator' = asked;
    if (asked === 'speaker' && occupants(room) === 0 && !claims.has(room)) {
      claims.set(room, now); // before the await: a second request meanwhile does not claim too
      if (!claimModerator || (await claimModerator(room, CLAIM_MS))) role = 'moderator';
    }
    const token = await tokens.sign({ identity: `dev-${randomUUID()}`, room, displayName: name, role }, ttlSeconds);
    ctx.body = { token, role, expiresAt: new Date(now + ttlSeconds * 1000).toISOString() };
  });
  return router;
}
