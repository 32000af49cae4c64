// When the room's worker dies, the room moves to a live worker with its
// participants (same sessions; their clients set media up again). When the
// server lost the session (no worker could take the room, Chorus restarted),
// the clients rejoin. Real WebRTC peers on the client core, with no one
// clicking: they hear each other again.
import { afterEach, expect, it } from 'vitest';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { freePort } from '../support/freePort.ts';
import { until } from '../support/wait.ts';

const servers: TestChorus[] = [];
let peers: NodePeer[] = [];

afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
  for (const s of servers.splice(0)) await s.stop();
});

async function talkers(chorus: TestChorus, room: string): Promise<[NodePeer, NodePeer]> {
  const ada = await NodePeer.join(chorus, room, 'Ada', opusTonePackets(440));
  const bob = await NodePeer.join(chorus, room, 'Bob', opusTonePackets(660));
  peers.push(ada, bob);
  return [ada, bob];
}

/** Both hear each other: `n` more packets each way from now on. */
async function hearEachOther(a: NodePeer, b: NodePeer, n = 50): Promise<void> {
  const from = [a.packetsFrom(b.participantId), b.packetsFrom(a.participantId)];
  await until(
    () => a.packetsFrom(b.participantId) > from[0]! + n && b.packetsFrom(a.participantId) > from[1]! + n,
    'audio both ways',
    20_000,
  );
}

/** Every notification each peer gets from now on, by name. */
function notificationsOf(peers: NodePeer[]): Map<NodePeer, string[]> {
  const seen = new Map(peers.map((p) => [p, [] as string[]]));
  for (const p of peers) p.call.on('notification', (n) => seen.get(p)!.push(n.notification));
  return seen;
}

it("moves the room and its participants to a live worker when the room's worker dies: same sessions, mute kept, the move recorded", async () => {
  const chorus = await startTestChorus({ media: { workers: 2 } });
  servers.push(chorus);
  const [ada, bob] = await talkers(chorus, 'crash');
  await hearEachOther(ada, bob);
  const cy = await NodePeer.join(chorus, 'crash', 'Cy', opusTonePackets(880));
  peers.push(cy);
  await cy.call.setMuted(true);
  const room = chorus.rooms.rooms.get('crash')!;
  const before = { ids: [ada, bob, cy].map((p) => p.participantId), worker: room.media, participants: new Map(room.participants) };
  const seen = notificationsOf([ada, bob, cy]);
  let rejoins = 0;
  for (const p of [ada, bob, cy]) p.call.on('rejoining', () => rejoins++);
  let moved = 0;
  for (const p of [ada, bob, cy]) p.call.on('moved', () => moved++);

  process.kill(before.worker.pid, 'SIGKILL');
  await until(() => moved === 3, () => `all three moved (${moved} did)`, 20_000);

  // The same room object and participants, on the other worker.
  expect(chorus.rooms.rooms.get('crash')).toBe(room);
  expect(room.media).not.toBe(before.worker);
  expect(room.media.worker.closed).toBe(false);
  expect([ada, bob, cy].map((p) => p.participantId)).toEqual(before.ids);
  expect([...room.participants.entries()]).toEqual([...before.participants.entries()]);
  await hearEachOther(ada, bob);
  expect(room.participants.get(cy.participantId)!.producer!.paused).toBe(true);
  expect(bob.packetsFrom(cy.participantId)).toBe(0);
  for (const [p, names] of seen) {
    expect(names, p.call.joined.displayName).toContain('roomMoved');
    expect(names).not.toContain('participantLeft');
    expect(names).not.toContain('participantJoined');
    expect(names).not.toContain('roomClosed');
  }
  expect(rejoins).toBe(0);
  for (const p of [ada, bob, cy]) expect(p.failure).toBeUndefined();

  // One session row per participant, none ended, each on the new worker; the move is recorded.
  expect(await chorus.recorder.flush(5_000)).toBe(true);
  const sessions = await chorus.db.selectFrom('participant_sessions').selectAll().orderBy('seq').execute();
  expect(sessions.map((s) => s.id)).toEqual(before.ids);
  for (const s of sessions) expect(s).toMatchObject({ left_at: null, leave_reason: null, worker_pid: room.media.pid });
  const rows = await chorus.db.selectFrom('rooms').selectAll().execute();
  expect(rows).toMatchObject([{ id: room.id, closed_at: null, worker_pid: room.media.pid }]);
  const moves = await chorus.db.selectFrom('room_moves').selectAll().execute();
  expect(moves).toMatchObject([{ room_id: room.id, from_worker_pid: before.worker.pid, to_worker_pid: room.media.pid, participants: 3 }]);
}, 60_000);

it('closes the room, and its clients try to rejoin, when its worker dies and no worker can take it (one worker, no restarts)', async () => {
  const chorus = await startTestChorus({ media: { workers: 1, workerRestarts: { max: 0, windowMs: 60_000 } } });
  servers.push(chorus);
  const [ada, bob] = await talkers(chorus, 'alone');
  await hearEachOther(ada, bob);
  const room = chorus.rooms.rooms.get('alone')!;
  const reasons: string[] = [];
  const rejoining = Promise.all(
    [ada, bob].map((p) => new Promise<void>((r) => p.call.on('rejoining', (_n, reason) => (reasons.push(reason), r())))),
  );
  process.kill(room.media.pid, 'SIGKILL');
  await rejoining;
  expect(reasons).toEqual(['workerDied', 'workerDied']);
  expect(room.closed).toBe(true);
  expect(await chorus.recorder.flush(5_000)).toBe(true);
  const sessions = await chorus.db.selectFrom('participant_sessions').selectAll().execute();
  expect(sessions.map((s) => s.leave_reason)).toEqual(['workerDied', 'workerDied']);
  expect(await chorus.db.selectFrom('room_moves').selectAll().execute()).toEqual([]);
  expect(chorus.pool.workers).toHaveLength(0); // the rejoins get SERVER_BUSY and go on trying
}, 60_000);

it('rejoins when Chorus restarts on the same address (the same signing secret: its join tokens stay valid)', async () => {
  const port = await freePort();
  const auth = { secret: 'a-stable-secret-of-at-least-32-characters' };
  const first = await startTestChorus({ http: { port }, auth });
  servers.push(first);
  const [ada, bob] = await talkers(first, 'restart');
  await hearEachOther(ada, bob);
  const rejoined = Promise.all([ada, bob].map((p) => new Promise<void>((r) => p.call.on('rejoined', r))));

  servers.splice(servers.indexOf(first), 1);
  await first.stop();
  servers.push(await startTestChorus({ http: { port }, auth }));
  await rejoined;
  await hearEachOther(ada, bob);
  for (const p of [ada, bob]) expect(p.failure).toBeUndefined();
}, 60_000);

it('does not rejoin after a moderator removed the participant', async () => {
  const chorus = await startTestChorus();
  servers.push(chorus);
  const [ada] = await talkers(chorus, 'removal');
  let rejoins = 0;
  ada.call.on('rejoining', () => rejoins++);
  const room = chorus.rooms.rooms.get('removal')!;
  room.remove(room.participant(ada.participantId));
  await until(() => ada.call.isEnded, 'the call to end');
  await new Promise((r) => setTimeout(r, 500));
  expect(rejoins).toBe(0);
  expect(ada.failure?.message).toMatch(/removed/);
  expect(room.participants.size).toBe(1);
});
