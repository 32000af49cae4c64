// The admin API on a real server: auth, listing, force-mute, remove, close,
// per-room K, and JSON errors with stable codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { ProtocolClient } from '../support/protocolClient.ts';

const SECRET = 'admin-secret-for-tests';
let chorus: TestChorus;
const clients: ProtocolClient[] = [];

function admin(method: string, path: string, body?: unknown, secret: string | null = SECRET) {
  return fetch(`${chorus.url}/admin${path}`, {
    method,
    headers: {
      ...(secret !== null ? { authorization: `Bearer ${secret}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function join(room: string, name: string) {
  const c = await ProtocolClient.connect(chorus.wsUrl);
  clients.push(c);
  const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token: await chorus.token(room, name, 'speaker', `id-${name}`) });
  return { c, id: joined.participantId as string };
}

beforeAll(async () => {
  chorus = await startTestChorus({ admin: { secret: SECRET } });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await chorus?.stop();
});

describe('admin API', () => {
  it('refuses requests without the right bearer secret', async () => {
    for (const secret of [null, 'wrong-secret-entirely']) {
      const res = await admin('GET', '/rooms', undefined, secret);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      expect(await res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    }
  });

  it('lists rooms with their participants', async () => {
    const ada = await join('ops', 'Ada');
    await join('ops', 'Bob');
    const res = await admin('GET', '/rooms');
    expect(res.status).toBe(200);
    const { rooms } = (await res.json()) as { rooms: any[] };
    const ops = rooms.find((r) => r.name === 'ops');
    expect(ops).toMatchObject({ forwardK: 3, worker: { index: 0, pid: chorus.pool.workers[0]!.pid } });
    expect(ops.participants.map((p: any) => p.displayName).sort()).toEqual(['Ada', 'Bob']);
    expect(ops.participants.find((p: any) => p.id === ada.id)).toMatchObject({ identity: 'id-Ada', role: 'speaker', muted: false });
    expect((await (await admin('GET', '/rooms/ops')).json()).name).toBe('ops');
  });

  it('force-mutes and removes a participant', async () => {
    const cy = await join('ops2', 'Cy');
    const dee = await join('ops2', 'Dee');
    expect((await admin('POST', `/rooms/ops2/participants/${cy.id}/mute`, {})).status).toBe(204);
    expect(await cy.c.waitForNotification('forceMuted')).toEqual({ allowUnmute: false });
    expect(await dee.c.waitForNotification('producerPaused')).toEqual({ participantId: cy.id });

    expect((await admin('DELETE', `/rooms/ops2/participants/${cy.id}`)).status).toBe(204);
    expect(await cy.c.waitForNotification('participantLeft')).toEqual({ participantId: cy.id, reason: 'removed' });
    expect(chorus.rooms.rooms.get('ops2')!.participants.has(cy.id)).toBe(false);
  });

  it("sets a room's K", async () => {
    await join('ops3', 'Eve');
    const res = await admin('PUT', '/rooms/ops3/forwarding', { k: 0 });
    expect(await res.json()).toEqual({ forwardK: 0 });
    expect(chorus.rooms.rooms.get('ops3')!.forwardK).toBe(0);
  });

  it('closes a room, telling its participants', async () => {
    const fay = await join('doomed', 'Fay');
    expect((await admin('DELETE', '/rooms/doomed')).status).toBe(204);
    expect(await fay.c.waitForNotification('roomClosed')).toEqual({ reason: 'roomClosed' });
    expect(chorus.rooms.rooms.has('doomed')).toBe(false);
  });

  it.each([
    ['GET', '/rooms/nowhere', undefined, 404, 'NOT_FOUND'],
    ['POST', '/rooms/ops/participants/nobody/mute', {}, 404, 'NOT_FOUND'],
    ['PUT', '/rooms/ops/forwarding', { k: -1 }, 400, 'INVALID_MESSAGE'],
    ['PUT', '/rooms/ops/forwarding', { k: 2, extra: true }, 400, 'INVALID_MESSAGE'],
    ['PUT', '/rooms/ops/forwarding', '{not json', 400, 'BAD_JSON'],
    ['GET', '/nothing-here', undefined, 404, 'NOT_FOUND'],
  ])('%s %s answers %i %s as JSON', async (method, path, body, status, code) => {
    const res = await admin(method, path, body);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('is off when no admin secret is configured', async () => {
    const plain = await startTestChorus();
    try {
      const res = await fetch(`${plain.url}/admin/rooms`, { headers: { authorization: 'Bearer ' } });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/admin API is off/) } });
    } finally {
      await plain.stop();
    }
  });
});
