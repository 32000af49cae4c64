// The admin API (/admin), for operators and app backends: list rooms and
// participants, force-mute, remove, close a room, set a room's K. A room
// spanning nodes shows its people on the other nodes too (`elsewhere`, with
// their node), and a mute or removal of one of them is done by their node,
// as a moderator's is (through the owner; peopleElsewhere.ts). Every call
// needs `Authorization: Bearer <admin.secret>`; with no admin secret configured
// the API is off. `limit` (the rate limit per client address) runs first, so
// guessing the secret is limited too.
import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { describeIssues } from '../../protocol/messages.ts';
import { type ModeratorAction, moderate } from '../rooms/peopleElsewhere.ts';
import type { Room } from '../rooms/room.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import { HttpError } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

function requireSecret(secret: string): Koa.Middleware {
  const expected = digest(secret);
  return async (ctx, next) => {
    const given = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    if (!given || !timingSafeEqual(digest(given), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="chorus-admin"');
      throw new HttpError(401, 'UNAUTHORIZED', 'send Authorization: Bearer <admin secret>');
    }
    await next();
  };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new HttpError(400, 'INVALID_MESSAGE', describeIssues(r.error));
  return r.data;
}

function describeRoom(room: Room) {
  return {
    id: room.id,
    name: room.name,
    createdAt: room.createdAt.toISOString(),
    worker: { index: room.media.index, pid: room.media.pid },
    // Every worker the room is on (the primary first), when it spans several.
    workers: room.span.slots.map((s) => ({ index: s.media.index, pid: s.media.pid, participants: s.participants.size })),
    forwardK: room.forwardK,
    participants: [...room.participants.values()].map((p) => ({
      ...p.info(),
      identity: p.identity,
      worker: room.workerOf(p).index,
      joinedAt: p.joinedAt.toISOString(),
      unmuteAllowed: p.unmuteAllowed,
    })),
    // A room spanning nodes: its people on the other nodes, as their nodes tell of them.
    elsewhere: room.elsewhere.everyone(),
    // A room spanning nodes: mirrors of people on other nodes, and (on the owner)
    // each satellite node's stand-in with the voices piped to it and whether each runs.
    remote: [...room.remote.values()].map((p) => ({
      id: p.id,
      kind: p.remote!.kind,
      node: p.remote!.node,
      muted: p.muted,
      ...(p.remote!.kind === 'node'
        ? { piped: [...p.consumers.values()].map((c) => ({ participantId: String(c.appData.participantId), running: !c.paused })) }
        : {}),
    })),
  };
}

export function adminRoutes(rooms: RoomRegistry, secret: string, limit?: Koa.Middleware): Router {
  const router = new Router({ prefix: '/admin' });
  if (limit) router.use(limit);
  if (!secret) {
    router.all('/{*rest}', () => {
      throw new HttpError(404, 'NOT_FOUND', 'the admin API is off: set admin.secret (CHORUS_ADMIN_SECRET)');
    });
    return router;
  }
  router.use(requireSecret(secret));

  const roomOf = (name: string) => {
    const room = rooms.rooms.get(name);
    if (!room || room.closed) throw new HttpError(404, 'NOT_FOUND', `no open room named "${name}"`);
    return room;
  };

  /** An admin's action on a participant of the room: here, or done by the node they are on (NOT_FOUND: nowhere in the room). */
  const act = async (name: string, participantId: string, action: ModeratorAction) => {
    const room = roomOf(name);
    const target = room.participants.get(participantId);
    if (target) await moderate(room, target, action);
    else await room.elsewhere.act(participantId, action);
  };

  router.get('/rooms', (ctx) => {
    ctx.body = { rooms: [...rooms.rooms.values()].map(describeRoom) };
  });

  router.get('/rooms/:room', (ctx) => {
    ctx.body = describeRoom(roomOf(ctx.params.room!));
  });

  router.delete('/rooms/:room', (ctx) => {
    roomOf(ctx.params.room!).close('closedByAdmin');
    ctx.status = 204;
  });

  router.put('/rooms/:room/forwarding', (ctx) => {
    const { k } = parse(z.strictObject({ k: z.number().int().min(0).max(100) }), ctx.request.body);
    const room = roomOf(ctx.params.room!);
    room.setForwardK(k);
    ctx.body = { forwardK: room.forwardK };
  });

  router.post('/rooms/:room/participants/:id/mute', async (ctx) => {
    const { allowUnmute } = parse(z.strictObject({ allowUnmute: z.boolean().default(false) }), ctx.request.body);
    await act(ctx.params.room!, ctx.params.id!, { kind: 'forceMute', allowUnmute });
    ctx.status = 204;
  });

  router.delete('/rooms/:room/participants/:id', async (ctx) => {
    await act(ctx.params.room!, ctx.params.id!, { kind: 'remove' });
    ctx.status = 204;
  });

  return router;
}
