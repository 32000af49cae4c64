// Signed access and roles through the real protocol: tokens are checked, the
// name and role come from the token, listeners cannot send, moderators can
// force-mute and remove, and dev-mode tokens come from POST /dev/token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { TokenService } from '../../sfu/auth/tokens.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  chorus = await startTestChorus();
});

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await chorus?.stop();
});

async function client(): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(chorus.wsUrl);
  opened.push(c);
  return c;
}

async function peer(room: string, name: string, role: 'speaker' | 'listener' | 'moderator', talk = true) {
  const p = await NodePeer.join(chorus, room, name, role === 'listener' ? undefined : opusTonePackets(440), { role });
  p.talking = talk;
  opened.push(p);
  return p;
}

const join = (c: ProtocolClient, room: string, token: string) =>
  c.request('join', { protocolVersion: PROTOCOL_VERSION, room, token });

describe('join tokens', () => {
  it('refuses forged, expired and wrong-room tokens with their codes; the socket stays usable', async () => {
    const c = await client();
    const forged = await new TokenService('x'.repeat(32)).sign({ identity: 'i', room: 'r', displayName: 'F', role: 'moderator' }, 60);
    expect(await join(c, 'r', forged)).toMatchObject({ ok: false, error: { code: 'TOKEN_INVALID' } });
    expect(await join(c, 'r', 'garbage')).toMatchObject({ ok: false, error: { code: 'TOKEN_INVALID' } });
    // Signed with the server's own secret, for this room, but expired a minute ago.
    const expired = await chorus.tokens.sign({ identity: 'e', room: 'r', displayName: 'E', role: 'speaker' }, -60);
    expect(await join(c, 'r', expired)).toMatchObject({ ok: false, error: { code: 'TOKEN_EXPIRED' } });
    expect(await join(c, 'r', await chorus.token('elsewhere', 'W'))).toMatchObject({
      ok: false,
      error: { code: 'TOKEN_WRONG_ROOM' },
    });
    const reply = await join(c, 'r', await chorus.token('r', 'Late'));
    expect(reply).toMatchObject({ ok: true, data: { displayName: 'Late', role: 'speaker' } });
  });

  it('takes the display name and role from the token only', async () => {
    const c = await client();
    const reply = await c.request('join', {
      protocolVersion: PROTOCOL_VERSION,
      room: 'r2',
      token: await chorus.token('r2', 'Real Name', 'listener'),
      displayName: 'Fake',
    });
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_MESSAGE' } });
    const ok = await join(c, 'r2', await chorus.token('r2', 'Real Name', 'listener'));
    expect(ok).toMatchObject({ ok: true, data: { displayName: 'Real Name', role: 'listener' } });
  });

  it('replaces an earlier session of the same identity (a second tab)', async () => {
    const first = await client();
    const second = await client();
    const j1 = await first.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'tabs', token: await chorus.token('tabs', 'Ada', 'speaker', 'ada') });
    await second.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'tabs', token: await chorus.token('tabs', 'Ada', 'speaker', 'ada') });
    expect(await first.waitForNotification('participantLeft')).toEqual({ participantId: j1.participantId, reason: 'replaced' });
    expect(chorus.rooms.rooms.get('tabs')!.participants.size).toBe(1);
  });
});

describe('roles', () => {
  it('lets a listener hear the speakers but not send', async () => {
    const speaker = await peer('roles', 'Speaker', 'speaker');
    const listener = await peer('roles', 'Listener', 'listener');
    await until(() => listener.packetsFrom(speaker.participantId) > 20, 'the listener hears the speaker');
    const send = await listener.signaling.request('createTransport', { direction: 'send' });
    expect(send).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: 'listeners cannot send audio' } });
    // The others see the listener's role.
    const info = await speaker.signaling.waitForNotification('participantJoined');
    expect(info.participant.role).toBe('listener');
  });

  it('refuses moderator actions to speakers', async () => {
    const a = await peer('nomod', 'A', 'speaker');
    const b = await peer('nomod', 'B', 'speaker');
    for (const method of ['forceMute', 'remove'] as const) {
      const reply = await a.signaling.request(method, { participantId: b.participantId });
      expect(reply).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
  });
});

describe('moderators', () => {
  it('force-mute a speaker: the others stop hearing them, and they cannot unmute until allowed', async () => {
    const mod = await peer('moderated', 'Mod', 'moderator', false);
    const speaker = await peer('moderated', 'Loud', 'speaker');
    const listener = await peer('moderated', 'Ear', 'listener');
    await until(() => listener.packetsFrom(speaker.participantId) > 20, 'the speaker is heard');

    await mod.signaling.call('forceMute', { participantId: speaker.participantId });
    expect(await speaker.signaling.waitForNotification('forceMuted')).toEqual({ allowUnmute: false });
    expect(await listener.signaling.waitForNotification('producerPaused')).toEqual({ participantId: speaker.participantId });
    await new Promise((r) => setTimeout(r, 300));
    const before = listener.packetsFrom(speaker.participantId);
    await new Promise((r) => setTimeout(r, 800));
    expect(listener.packetsFrom(speaker.participantId)).toBe(before);

    expect(await speaker.signaling.request('unmute', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await mod.signaling.call('forceMute', { participantId: speaker.participantId, allowUnmute: true });
    await speaker.signaling.waitForNotification('forceMuted', (d) => d.allowUnmute);
    await speaker.signaling.call('unmute', {});
    await until(() => listener.packetsFrom(speaker.participantId) > before, 'the speaker is heard again');
  });

  it('remove a participant, who cannot rejoin that room with the same identity', async () => {
    const mod = await peer('kick', 'Mod', 'moderator', false);
    const target = await client();
    const token = await chorus.token('kick', 'Troll', 'speaker', 'troll');
    const joined = await target.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'kick', token });
    await mod.signaling.call('remove', { participantId: joined.participantId });
    expect(await target.waitForNotification('participantLeft')).toEqual({ participantId: joined.participantId, reason: 'removed' });
    expect(await mod.signaling.waitForNotification('participantLeft')).toEqual({ participantId: joined.participantId, reason: 'removed' });
    expect(await join(target, 'kick', token)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await mod.signaling.request('remove', { participantId: 'nobody' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('TURN', () => {
  it('gives each joiner time-limited TURN credentials when TURN is configured, none otherwise', async () => {
    const c = await client();
    const plain = await join(c, 'noturn', await chorus.token('noturn', 'A'));
    expect(plain).toMatchObject({ ok: true, data: { iceServers: [] } });

    const withTurn = await startTestChorus({ turn: { urls: ['turn:127.0.0.1:3478'], secret: 'coturn-secret', ttlSeconds: 600 } });
    try {
      const c2 = await ProtocolClient.connect(withTurn.wsUrl);
      opened.push(c2);
      const joined = await c2.call('join', { protocolVersion: PROTOCOL_VERSION, room: 't', token: await withTurn.token('t', 'B') });
      const server = joined.iceServers[0]!;
      expect(server.urls).toEqual(['turn:127.0.0.1:3478']);
      const [expiry, user] = server.username.split(':');
      expect(user).toBe(joined.participantId);
      expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(590);
      expect(server.credential).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    } finally {
      await withTurn.stop();
    }
  });
});

describe('dev tokens', () => {
  const post = (body: unknown) =>
    fetch(`${chorus.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('hands out a working token; only the first person in an empty room is a moderator, and nobody can ask to be one', async () => {
    // Asking for moderator is refused outright.
    const asked = await post({ room: 'dev', name: 'Mallory', role: 'moderator' });
    expect(asked.status).toBe(403);
    expect(await asked.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    // The first token for the empty room is a moderator's...
    const res = await post({ room: 'dev', name: 'Dana' });
    expect(res.status).toBe(200);
    const { token, role, expiresAt } = (await res.json()) as { token: string; role: string; expiresAt: string };
    expect(role).toBe('moderator');
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    // ...and so is held for its holder: a second page opening the same link at once is a speaker.
    const racing = (await (await post({ room: 'dev', name: 'Eve' })).json()) as { role: string };
    expect(racing.role).toBe('speaker');
    const c = await client();
    expect(await join(c, 'dev', token)).toMatchObject({ ok: true, data: { displayName: 'Dana', role: 'moderator' } });
    // The room has someone in it now: later speakers are speakers, listeners listeners.
    const later = (await (await post({ room: 'dev', name: 'Finn' })).json()) as { token: string; role: string };
    expect(later.role).toBe('speaker');
    expect(await join(await client(), 'dev', later.token)).toMatchObject({ ok: true, data: { role: 'speaker' } });
    const listener = (await (await post({ room: 'dev', name: 'Gus', role: 'listener' })).json()) as { role: string };
    expect(listener.role).toBe('listener');
    // Someone asking to listen in an empty room stays a listener.
    const quiet = (await (await post({ room: 'dev-empty', name: 'Hal', role: 'listener' })).json()) as { role: string };
    expect(quiet.role).toBe('listener');
  });

  it('answers bad requests with a JSON error', async () => {
    const res = await post({ room: 'no/slash', name: 'X' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'INVALID_MESSAGE', message: expect.stringMatching(/room/) } });
    const broken = await fetch(`${chorus.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: { code: 'BAD_JSON' } });
  });

  it('do not exist when dev tokens are off', async () => {
    const prod = await startTestChorus({ auth: { devTokens: false, secret: 'p'.repeat(32) } });
    try {
      const res = await fetch(`${prod.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"room":"a","name":"b"}' });
      expect(res.status).toBe(404);
    } finally {
      await prod.stop();
    }
  });
});
