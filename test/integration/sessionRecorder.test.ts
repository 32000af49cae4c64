// The database is not on the call path: while it is unreachable people still
// join, talk (WebRTC audio both ways) and leave, and the session rows land once it is back.
// The write queue is bounded by its size in memory, merges quality updates per
// session and drops in dependency order (its own tests below).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../../sfu/db/database.ts';
import { SessionRecorder } from '../../sfu/db/sessionRecorder.ts';
import { createLogger } from '../../sfu/log.ts';
import type { QualitySummary } from '../../sfu/metrics/quality.ts';
import type { RoomRegistry } from '../../sfu/rooms/roomRegistry.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { until } from '../support/wait.ts';
import { TcpProxy } from '../support/tcpProxy.ts';

let chorus: TestChorus;
let proxy: TcpProxy;
let database: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  database = await createTestDatabase(inject('postgresAdminUrl'));
  const target = new URL(database.url);
  proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
  const viaProxy = new URL(database.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  chorus = await startTestChorus({ database: { url: viaProxy.toString() } });
});

afterAll(async () => {
  await proxy?.restore();
  await chorus?.stop();
  await database?.drop();
  await proxy?.cut();
});

it('keeps calls going while the database is down and writes the rows when it is back', async () => {
  await proxy.cut();
  // Calls need no database: /readyz stays ready and reports the database apart.
  const res = await fetch(`${chorus.url}/readyz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'ready', database: 'unreachable', workers: 1 });

  // Two people meet, talk both ways, and part while the database is unreachable.
  const a = await NodePeer.join(chorus, 'offline', 'A', opusTonePackets(440));
  const b = await NodePeer.join(chorus, 'offline', 'B', opusTonePackets(660));
  try {
    await until(() => a.packetsFrom(b.participantId) > 50 && b.packetsFrom(a.participantId) > 50, 'audio both ways without the database', 15_000);
    // Still unreachable all along: the proxy is cut and the rows wait in memory.
    expect(chorus.recorder.queued).toBeGreaterThanOrEqual(3); // room open, 2 joins
    expect(await (await fetch(`${chorus.url}/readyz`)).json()).toMatchObject({ status: 'ready', database: 'unreachable' });
    await a.signaling.call('leave', {});
  } finally {
    await a.close();
    await b.close();
  }
  await until(() => !chorus.rooms.rooms.has('offline'), 'the room closed');
  expect(chorus.recorder.queued).toBeGreaterThanOrEqual(5); // room open, 2 joins, 2 leaves

  await proxy.restore();
  expect(await chorus.recorder.flush(15_000)).toBe(true);
  expect(chorus.recorder.queued).toBe(0);
  expect(chorus.recorder.dropped).toBe(0);

  const db = openDatabase(database.url);
  try {
    const sessions = await db.selectFrom('participant_sessions').selectAll().orderBy('seq').execute();
    expect(sessions.map((s) => [s.display_name, s.leave_reason])).toEqual([
      ['A', 'left'],
      ['B', 'disconnected'],
    ]);
    expect(await db.selectFrom('rooms').select('name').execute()).toEqual([{ name: 'offline' }]);
  } finally {
    await db.destroy();
  }
  expect(await (await fetch(`${chorus.url}/readyz`)).json()).toMatchObject({ status: 'ready', database: 'reachable' });
});

// The write-behind queue itself, on a real PostgreSQL cut off by a proxy, fed
// room events directly (no media): bounded in bytes, quality merged per session,
// drops in dependency order.
describe('the write queue while the database is down', () => {
  let qdb: Awaited<ReturnType<typeof createTestDatabase>>;
  let qproxy: TcpProxy;
  let viaProxy: string;

  beforeAll(async () => {
    qdb = await createTestDatabase(inject('postgresAdminUrl'));
    const db = openDatabase(qdb.url);
    await migrateToLatest(db);
    await db.destroy();
    const target = new URL(qdb.url);
    qproxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    const u = new URL(qdb.url);
    u.host = `127.0.0.1:${qproxy.port}`;
    viaProxy = u.toString();
  });

  afterAll(async () => {
    await qproxy?.restore();
    await qdb?.drop();
    await qproxy?.cut();
  });

  /** A recorder on a registry stand-in; its drop log lines and write results are kept. */
  function recorder(limits: { maxQueueBytes: number; maxQueuedWrites: number }) {
    const registry = new EventEmitter();
    const log: string[] = [];
    const results = { ok: 0, retry: 0, failed: 0, dropped: 0 };
    const db = openDatabase(viaProxy);
    const r = new SessionRecorder(db, limits, createLogger('info', 'db', (line) => log.push(line)), {
      dbWrite: (result) => results[result]++,
      dbDropped: () => results.dropped++,
    });
    r.attach(registry as unknown as RoomRegistry);
    const room = (name: string) => ({ id: randomUUID(), name, media: { pid: 4242 }, workerOf: () => ({ pid: 4242 }), createdAt: new Date() });
    const person = (name: string) => ({ id: randomUUID(), displayName: name, joinedAt: new Date() });
    return {
      r,
      db,
      log,
      results,
      open: (name: string) => {
        const x = room(name);
        registry.emit('roomOpened', x);
        return x;
      },
      close: (x: ReturnType<typeof room>) => registry.emit('roomClosed', x, 'empty'),
      join: (x: ReturnType<typeof room>, name: string) => {
        const p = person(name);
        registry.emit('participantJoined', x, p);
        return p;
      },
      leave: (x: ReturnType<typeof room>, p: ReturnType<typeof person>) => registry.emit('participantLeft', x, p, 'left'),
    };
  }

  const summary = (n: number): QualitySummary => ({
    bytesSent: n,
    bytesReceived: 2 * n,
    lossMean: 0.01,
    lossWorst: 0.05,
    jitterMeanMs: 3,
    jitterWorstMs: 9,
    rttMeanMs: 20,
    rttWorstMs: 40,
    mutedSeconds: 1,
    speakingSeconds: n,
  });

  it('keeps one queued quality write per session, the newest summary, whatever the number of updates', async () => {
    await qproxy.cut();
    const t = recorder({ maxQueueBytes: 64 * 1024, maxQueuedWrites: 100 });
    try {
      const room = t.open('quality');
      const a = t.join(room, 'A');
      for (let i = 1; i <= 500; i++) t.r.recordQuality(a.id, summary(i));
      expect(t.r.queued).toBe(3); // room insert, session insert, one quality update
      expect(t.r.dropped).toBe(0);

      await qproxy.restore();
      expect(await t.r.flush(15_000)).toBe(true);
      expect(t.results).toMatchObject({ failed: 0, dropped: 0 });
      const row = await t.db.selectFrom('participant_sessions').selectAll().where('id', '=', a.id).executeTakeFirstOrThrow();
      expect([row.room_id, Number(row.bytes_sent), Number(row.speaking_seconds)]).toEqual([room.id, 500, 500]);
    } finally {
      t.r.stop();
      await t.db.destroy();
    }
  });

  it('when full drops quality updates first, then the oldest sessions, never a room insert its sessions need', async () => {
    await qproxy.cut();
    // ≈ 40 writes of ≈ 400 estimated bytes.
    const t = recorder({ maxQueueBytes: 16 * 1024, maxQueuedWrites: 10_000 });
    try {
      // A first room with 5 people whose quality gets recorded, then a busier one.
      const first = t.open('first');
      const early = Array.from({ length: 5 }, (_, i) => t.join(first, `early-${i}`));
      for (const p of early) t.r.recordQuality(p.id, summary(1));
      expect(t.r.dropped).toBe(0);
      const second = t.open('second');
      const late: ReturnType<typeof t.join>[] = [];
      const drops = () => t.log.filter((l) => l.includes('database write queue full'));
      const kinds = () => drops().map((l) => (l.includes('quality') ? 'quality' : l.includes('session') ? 'session' : 'room'));
      const writes = (l: string) => Number(/"writes":(\d+)/.exec(l)![1]);
      // People join the second room until the queue has to drop something besides quality updates.
      const firstOther = () => kinds().findIndex((k) => k !== 'quality');
      while (firstOther() < 0 && late.length < 500) {
        late.push(t.join(second, `late-${late.length}`));
        expect.soft(t.r.queuedBytes).toBeLessThanOrEqual(16 * 1024);
      }
      // That is a participant session, and before it all 5 quality updates went (and nothing else).
      const firstSession = firstOther();
      expect.soft(kinds()[firstSession]).toBe('session');
      expect.soft(drops().slice(0, firstSession).reduce((n, l) => n + writes(l), 0)).toBe(5);

      // More people come and go: now whole sessions go, oldest first.
      for (let i = 0; i < 40; i++) {
        const p = t.join(second, `later-${i}`);
        late.push(p);
        t.leave(second, p);
      }
      for (const p of early) t.leave(first, p);
      t.close(first);
      expect.soft(kinds().lastIndexOf('quality')).toBeLessThan(firstSession);
      expect.soft(kinds()).not.toContain('room'); // both rooms still have queued sessions
      expect.soft(t.results.dropped).toBe(t.r.dropped); // every drop counted in the metric
      expect.soft(t.r.queuedBytes).toBeLessThanOrEqual(16 * 1024);

      await qproxy.restore();
      expect(await t.r.flush(15_000)).toBe(true);
      // Nothing refused by the database (a session whose room insert was dropped would be).
      expect(t.results.failed).toBe(0);
      const rooms = await t.db.selectFrom('rooms').select(['id', 'name', 'closed_at']).where('id', 'in', [first.id, second.id]).execute();
      const sessions = await t.db
        .selectFrom('participant_sessions')
        .select(['id', 'room_id', 'display_name', 'left_at'])
        .where('id', 'in', [...early, ...late].map((p) => p.id))
        .execute();
      const roomIds = new Set(rooms.map((r) => r.id));
      expect(rooms.map((r) => r.name).sort()).toEqual(['first', 'second']);
      expect(sessions.length).toBeGreaterThan(10);
      for (const s of sessions) expect(roomIds.has(s.room_id)).toBe(true);
      // The newest sessions all landed, whole.
      const landed = new Map(sessions.map((s) => [s.id, s]));
      for (const p of late.slice(-10)) expect(landed.get(p.id)?.left_at).toBeInstanceOf(Date);
      // What landed plus what was dropped is everything that was queued.
      expect(t.r.queued).toBe(0);
    } finally {
      t.r.stop();
      await t.db.destroy();
    }
  });
});
