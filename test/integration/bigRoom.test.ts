// Big rooms: consumers on demand (sfu/rooms/consumerPolicy.ts). 30 real WebRTC
// peers in one room with K = 3: listeners hold consumers only for the voices
// they may hear soon, get one made when someone new is heard, and lose the
// consumers of someone who left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import type { Room } from '../../sfu/rooms/room.ts';
import { until } from '../support/wait.ts';

const ROOM = 'town-hall';
const SIZE = 30;
const TALKERS = 3;
const CAP = 5;
const opus = opusTonePackets(440);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let chorus: TestChorus;
let peers: NodePeer[] = [];
let room: Room;
/** The most consumers any participant held, at the server and at its client, sampled every 50 ms all along. */
let mostHeld = { server: 0, client: 0 };
let sampler: NodeJS.Timeout | undefined;

const producerOf = (peer: NodePeer) => room.participants.get(peer.participantId)!.producer!.id;
/** Producer ids the server holds consumers of for `listener`. */
const heldBy = (listener: NodePeer) => new Set([...room.participants.get(listener.participantId)!.consumers.values()].map((c) => c.producerId));
const consumerIds = (listener: NodePeer) => [...room.participants.get(listener.participantId)!.consumers.keys()].sort();

beforeAll(async () => {
  // All peers connect from this machine: no per-address cap in the way.
  chorus = await startTestChorus({ rooms: { forwardK: 3, maxConsumersPerListener: CAP }, signaling: { maxSocketsPerAddress: 100 } });
  sampler = setInterval(() => {
    for (const r of chorus.rooms.rooms.values()) for (const p of r.participants.values()) mostHeld.server = Math.max(mostHeld.server, p.consumers.size);
    for (const p of peers) mostHeld.client = Math.max(mostHeld.client, p.call.consumers.size);
  }, 50);
  for (let i = 0; i < SIZE; i++) {
    // Silent ones are silent from their first frame, as in a big meeting.
    peers.push(await NodePeer.join(chorus, ROOM, `P${i}`, opus, { talking: i < TALKERS }));
  }
  room = chorus.rooms.rooms.get(ROOM)!;
}, 120_000);

afterAll(async () => {
  clearInterval(sampler);
  await Promise.all(peers.map((p) => p.close()));
  await chorus?.stop();
});

describe(`a room of ${SIZE} with K = 3 and at most ${CAP} consumers per listener`, () => {
  it('every listener hears the three talkers and holds at most the configured number of consumers, at the server and in its client', async () => {
    const talkers = peers.slice(0, TALKERS);
    for (const t of talkers) {
      await until(() => peers.every((l) => l === t || l.packetsFrom(t.participantId) > 20), `talker ${t.participantId} heard by all`, 30_000);
    }
    // Each listener holds the talkers' consumers; the rest of its places go to others, not to all 29.
    for (const l of peers) {
      const held = heldBy(l);
      for (const t of talkers) if (t !== l) expect(held.has(producerOf(t)), 'a talker held').toBe(true);
      expect(held.size).toBeLessThanOrEqual(CAP);
    }
    expect(mostHeld.server).toBeLessThanOrEqual(CAP);
    expect(mostHeld.client).toBeLessThanOrEqual(CAP);
    // Without consumers on demand every listener would hold 29.
    expect(mostHeld.server).toBeGreaterThanOrEqual(TALKERS);
  });

  it('a short pause of a talker switches nothing: every listener keeps the same consumers', async () => {
    const before = peers.map(consumerIds);
    const closedBefore = peers.map((p) => p.call.closedBeforeReady);
    const talker = peers[1]!;
    talker.talking = false;
    await sleep(500); // well under the 1.5 s hold
    talker.talking = true;
    await sleep(1000);
    expect(peers.map(consumerIds)).toEqual(before);
    expect(peers.map((p) => p.call.closedBeforeReady)).toEqual(closedBefore);
  });

  it('a silent participant nobody holds a consumer of, who starts talking as a talker stops, gets a new consumer at every listener and is heard by all', async () => {
    const newTalker = peers[SIZE - 1]!; // joined last, never loud: last in the room's order
    const quitting = peers[0]!;
    for (const l of peers) if (l !== newTalker) expect(heldBy(l).has(producerOf(newTalker))).toBe(false);
    const offeredBefore = peers.map((l) => offersOf(l, newTalker.participantId));
    quitting.talking = false;
    newTalker.talking = true;
    const listeners = peers.filter((p) => p !== newTalker);
    await until(() => listeners.every((l) => l.packetsFrom(newTalker.participantId) > 20), () => {
      const deaf = listeners.filter((l) => l.packetsFrom(newTalker.participantId) <= 20);
      return `the new talker heard by everyone (${deaf.length} did not: ${deaf.map((l) => `${peers.indexOf(l)} held=${heldBy(l).has(producerOf(newTalker))} client=${[...l.call.consumers.values()].some((c) => c.participantId === newTalker.participantId)} got=${l.packetsFrom(newTalker.participantId)} paused=${[...room.participants.get(l.participantId)!.consumers.values()].find((c) => c.producerId === producerOf(newTalker))?.paused} ready=${[...room.participants.get(l.participantId)!.consumers.values()].filter((c) => room.participants.get(l.participantId)!.isReady(c.id)).length}`).join(', ')})`;
    }, 30_000);
    listeners.forEach((l) => expect(offersOf(l, newTalker.participantId)).toBe(offeredBefore[peers.indexOf(l)]! + 1));
    for (const l of listeners) expect(heldBy(l).has(producerOf(newTalker))).toBe(true);
    expect(mostHeld.server).toBeLessThanOrEqual(CAP);
    expect(mostHeld.client).toBeLessThanOrEqual(CAP);
  }, 60_000);

  it("the consumers of a participant who left are gone, at the server and in every client", async () => {
    const leaver = peers[2]!;
    const producerId = producerOf(leaver);
    peers = peers.filter((p) => p !== leaver);
    await leaver.call.leave();
    await until(() => peers.every((l) => !heldBy(l).has(producerId)), 'no consumer of the leaver at the server');
    await until(
      () => peers.every((l) => [...l.call.consumers.values()].every((c) => c.participantId !== leaver.participantId)),
      'no consumer of the leaver in any client',
    );
    // Its place goes to someone else: the listeners hold as many as before (the cap), not fewer.
    await until(() => peers.every((l) => heldBy(l).size === CAP), 'the freed places taken again');
  });
});

describe('a listener with a place for one consumer only (K = 1)', () => {
  let small: TestChorus;
  const turnPeers: NodePeer[] = [];
  afterAll(async () => {
    await Promise.all(turnPeers.map((p) => p.close()));
    await small?.stop();
  });

  it('hears each of three speakers taking turns: its one consumer is closed and a new one made at every turn, and its call never breaks', async () => {
    small = await startTestChorus({ rooms: { forwardK: 1, maxConsumersPerListener: 1 } });
    const listener = await NodePeer.join(small, 'turns', 'L', opus, { talking: false });
    turnPeers.push(listener);
    const speakers: NodePeer[] = [];
    for (let i = 0; i < 3; i++) speakers.push(await NodePeer.join(small, 'turns', `S${i}`, opus, { talking: false }));
    turnPeers.push(...speakers);
    let rejoins = 0;
    for (const p of turnPeers) p.call.on('rejoining', () => rejoins++);
    for (let turn = 0; turn < 6; turn++) {
      const speaker = speakers[turn % 3]!;
      for (const s of speakers) s.talking = s === speaker;
      const before = listener.packetsFrom(speaker.participantId);
      await until(() => listener.packetsFrom(speaker.participantId) > before + 20, `turn ${turn}: S${turn % 3} heard`, 10_000);
      expect(listener.call.consumers.size).toBe(1);
    }
    expect(offersOf(listener, speakers[0]!.participantId)).toBeGreaterThanOrEqual(2);
    // Each turn closed one consumer and made another, at the listener and at every speaker, without an error.
    expect(rejoins).toBe(0);
  }, 90_000);
});

function offersOf(listener: NodePeer, participantId: string): number {
  return listener.signaling.notifications.filter((n) => n.notification === 'newConsumer' && n.data.participantId === participantId).length;
}
