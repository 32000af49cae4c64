// Workers heal and Chorus drains: a dead worker is replaced on the same index
// and ports (its rooms move onto it with their participants), a stuck one is found by the
// health check and replaced, one that keeps dying makes /readyz fail; a
// draining Chorus says so, refuses new calls and tells its clients.
import { afterEach, expect, it } from 'vitest';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import type { MediaWorker } from '../../sfu/media/workerPool.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { freePort } from '../support/freePort.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus | undefined;
let peers: NodePeer[] = [];

afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
  await chorus?.stop();
  chorus = undefined;
});

const readyz = async (c: TestChorus) => {
  const res = await fetch(`${c.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const udpPort = async (w: MediaWorker) => (await w.webRtcServer.dump()).udpSockets[0]!.port;

/** Kills worker 0 and waits for its replacement. */
async function killAndAwaitReplacement(c: TestChorus, signal: NodeJS.Signals = 'SIGKILL'): Promise<MediaWorker> {
  const old = c.pool.workers[0]!;
  const replaced = new Promise<MediaWorker>((resolve) => c.pool.once('workerStarted', resolve));
  process.kill(old.pid, signal);
  return replaced;
}

it('replaces a killed worker on the same index and port; its room moves onto it, the same peers hear each other again', async () => {
  chorus = await startTestChorus({ media: { rtcPortBase: await freePort() } });
  const c = chorus;
  const ada = await NodePeer.join(c, 'heal', 'Ada', opusTonePackets(440));
  const bob = await NodePeer.join(c, 'heal', 'Bob', opusTonePackets(660));
  peers.push(ada, bob);
  await until(() => ada.packetsFrom(bob.participantId) > 20 && bob.packetsFrom(ada.participantId) > 20, 'audio both ways');
  const old = c.pool.workers[0]!;
  const oldPort = await udpPort(old);
  const room = c.rooms.rooms.get('heal')!;
  const ids = [ada.participantId, bob.participantId];
  let moved = 0;
  for (const p of [ada, bob]) p.call.on('moved', () => moved++);

  const fresh = await killAndAwaitReplacement(c);
  expect(fresh.index).toBe(0);
  expect(fresh.pid).not.toBe(old.pid);
  expect(await udpPort(fresh)).toBe(oldPort);
  expect(c.pool.workers).toEqual([fresh]);
  expect(await readyz(c)).toMatchObject({ status: 200, body: { status: 'ready', workers: 1 } });

  // No other worker was alive: the room waited for the replacement and moved onto it.
  await until(() => moved === 2, () => `both moved (${moved} did)`, 20_000);
  expect(c.rooms.rooms.get('heal')).toBe(room);
  expect(room.media).toBe(fresh);
  expect([...room.participants.keys()]).toEqual(ids);
  expect([ada.participantId, bob.participantId]).toEqual(ids);
  const from = [ada.packetsFrom(bob.participantId), bob.packetsFrom(ada.participantId)];
  await until(
    () => ada.packetsFrom(bob.participantId) > from[0]! + 50 && bob.packetsFrom(ada.participantId) > from[1]! + 50,
    'audio both ways on the new worker',
    20_000,
  );
}, 60_000);

it('kills and replaces a worker that stops answering (SIGSTOP)', async () => {
  chorus = await startTestChorus({ media: { healthCheck: { intervalMs: 300, timeoutMs: 600 } } });
  const stuck = chorus.pool.workers[0]!;
  const fresh = await killAndAwaitReplacement(chorus, 'SIGSTOP');
  expect(fresh.pid).not.toBe(stuck.pid);
  expect(stuck.worker.died).toBe(true);
});

it('stops restarting a worker that keeps dying, and /readyz says so', async () => {
  chorus = await startTestChorus({ media: { workerRestarts: { max: 2, windowMs: 60_000 } } });
  await killAndAwaitReplacement(chorus);
  await killAndAwaitReplacement(chorus);
  process.kill(chorus.pool.workers[0]!.pid, 'SIGKILL');
  await until(() => chorus!.pool.crashLooping.has(0), 'the crash loop to be noticed');
  await new Promise((r) => setTimeout(r, 1000));
  expect(chorus.pool.workers).toHaveLength(0);
  expect(await readyz(chorus)).toMatchObject({ status: 503, body: { status: 'not ready', workers: 0, crashLooping: [0] } });
});

it('drains: /readyz says draining, new joins are refused, and the clients are told and try to rejoin', async () => {
  chorus = await startTestChorus();
  const ada = await NodePeer.join(chorus, 'drain', 'Ada', opusTonePackets(440));
  peers.push(ada);
  const rejoining = new Promise<string>((resolve) => ada.call.on('rejoining', (_n, reason) => resolve(reason)));
  await chorus.drain();
  expect(await readyz(chorus)).toMatchObject({ status: 503, body: { status: 'draining' } });
  expect(await rejoining).toBe('serverShutdown');
  const late = await ProtocolClient.connect(chorus.wsUrl);
  const refused = await late.request('join', { protocolVersion: PROTOCOL_VERSION, room: 'drain', token: await chorus.token('drain', 'Late') });
  expect(refused).toMatchObject({ ok: false, error: { code: 'SERVER_BUSY' } });
  await late.close();
  expect(chorus.rooms.rooms.size).toBe(0);
});
