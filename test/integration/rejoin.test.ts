// Rejoining when the server lost the session: the room's worker died, or
// Chorus restarted. Real WebRTC peers on the client core, with no one clicking:
// they join the same room again and hear each other again.
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

it("rejoins the room on a live worker when the room's worker dies, keeping the mute state", async () => {
  const chorus = await startTestChorus({ media: { workers: 2 } });
  servers.push(chorus);
  const [ada, bob] = await talkers(chorus, 'crash');
  await hearEachOther(ada, bob);
  const cy = await NodePeer.join(chorus, 'crash', 'Cy', opusTonePackets(880));
  peers.push(cy);
  await cy.call.setMuted(true);
  const before = { ada: ada.participantId, worker: chorus.rooms.rooms.get('crash')!.media };
  const rejoined = Promise.all([ada, bob, cy].map((p) => new Promise<void>((r) => p.call.on('rejoined', r))));

  process.kill(before.worker.pid, 'SIGKILL');
  await rejoined;

  const room = chorus.rooms.rooms.get('crash')!;
  expect(room.media).not.toBe(before.worker);
  expect(ada.participantId).not.toBe(before.ada); // a new session in a new room
  expect([...room.participants.values()].map((p) => p.displayName).sort()).toEqual(['Ada', 'Bob', 'Cy']);
  expect(room.participants.get(cy.participantId)!.producer!.paused).toBe(true);
  await hearEachOther(ada, bob);
  expect(bob.packetsFrom(cy.participantId)).toBe(0);
  for (const p of [ada, bob, cy]) expect(p.failure).toBeUndefined();
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
