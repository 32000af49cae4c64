// The database is not on the call path: while it is unreachable people still
// join, talk (WebRTC audio both ways) and leave, and the session rows land once it is back.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { openDatabase } from '../../sfu/db/database.ts';
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
