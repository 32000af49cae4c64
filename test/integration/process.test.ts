// Chorus as a user runs it (`npm start` = node --import tsx sfu/main.ts): with no
// database configured it uses the embedded PostgreSQL; bad config stops it with
// one clear message; SIGTERM stops it cleanly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { PGlite } from '@electric-sql/pglite';
import { devTokenTarget, killChorusProcesses, loopbackEnv, startChorusProcess } from '../support/chorusProcess.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { until } from '../support/wait.ts';

afterEach(killChorusProcesses);

describe('the chorus process', () => {
  it('refuses to start on a bad config, naming every problem', async () => {
    const run = startChorusProcess({ CHORUS_HTTP_PORT: '99999', CHORUS_LOG_LEVEL: 'chatty' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('Chorus cannot start: invalid configuration');
    expect(run.output()).toMatch(/http\.port: .*\(from env CHORUS_HTTP_PORT\)/);
    expect(run.output()).toMatch(/log\.level: .*\(from env CHORUS_LOG_LEVEL\)/);
  });

  it('starts with the embedded database when DATABASE_URL is not set, serves a call, stops on SIGTERM with every row written, and restarts on the same data', async () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-embedded-')), 'pgdata');
    const env = { ...loopbackEnv(0), CHORUS_EMBEDDED_DB_DIR: dataDir };
    const run = startChorusProcess(env);
    await until(() => /listening on (http:\S+)/.test(run.output()), 'Chorus to listen', 30_000);
    const url = /listening on (http:\S+)/.exec(run.output())![1]!;
    expect(run.output()).toContain('using the embedded PostgreSQL');

    const ready = await fetch(`${url}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', workers: 1, database: 'reachable' });
    expect((await fetch(`${url}/`)).headers.get('content-type')).toMatch(/text\/html/);

    // Dev mode (the default config) hands out tokens, as the web client asks for them.
    expect(run.output()).toContain('dev mode: POST /dev/token');
    const target = devTokenTarget(url);
    const minted = await fetch(`${url}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'laptop', name: 'Me' }),
    });
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as { token: string };
    const c = await ProtocolClient.connect(target.wsUrl);
    const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'laptop', token });
    expect(joined).toMatchObject({ displayName: 'Me', role: 'moderator' }); // dev mode: the first in a room
    expect(joined.participants).toEqual([]);
    const closed = new Promise((r) => c.ws.once('close', r));
    // A call: two WebRTC peers hear each other through the process.
    const ada = await NodePeer.join(target, 'laptop', 'Ada', opusTonePackets(440));
    const bob = await NodePeer.join(target, 'laptop', 'Bob', opusTonePackets(660));
    try {
      await until(() => ada.packetsFrom(bob.participantId) > 20 && bob.packetsFrom(ada.participantId) > 20, 'audio both ways', 20_000);
    } finally {
      ada.stopSending();
      bob.stopSending();
    }

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    await closed;
    await Promise.all([ada.close(), bob.close()]);
    expect(run.output()).toContain('SIGTERM: draining and stopping');
    expect(run.output()).not.toMatch(/unwritten database rows/);

    // The data folder persists: a second start finds the schema in place, and adds to the same data.
    const again = startChorusProcess(env);
    await until(() => /listening on/.test(again.output()), 'Chorus to listen again', 30_000);
    expect(again.output()).not.toContain('database migrated');
    const url2 = /listening on (http:\S+)/.exec(again.output())![1]!;
    const target2 = devTokenTarget(url2);
    const c2 = await ProtocolClient.connect(target2.wsUrl);
    await c2.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'laptop', token: await target2.token('laptop', 'Cy') });
    await c2.call('leave', {});
    await c2.close();
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);

    // Read the rows back from the data folder: every session of both runs, each complete
    // (left, with a reason), and both openings of the room, each closed.
    const db = await PGlite.create(dataDir);
    try {
      const sessions = await db.query<{ display_name: string; leave_reason: string | null; left_at: Date | null }>(
        'select display_name, leave_reason, left_at from participant_sessions order by joined_at',
      );
      expect(sessions.rows.map((r) => r.display_name)).toEqual(['Me', 'Ada', 'Bob', 'Cy']);
      for (const r of sessions.rows) {
        expect(r.left_at, `${r.display_name} left_at`).not.toBeNull();
        expect(r.leave_reason, `${r.display_name} leave_reason`).not.toBeNull();
      }
      expect(sessions.rows.find((r) => r.display_name === 'Cy')!.leave_reason).toBe('left');
      const rooms = await db.query<{ name: string; closed_at: Date | null }>('select name, closed_at from rooms order by created_at');
      expect(rooms.rows.map((r) => r.name)).toEqual(['laptop', 'laptop']);
      for (const r of rooms.rows) expect(r.closed_at).not.toBeNull();
    } finally {
      await db.close();
    }
  }, 150_000);
});
