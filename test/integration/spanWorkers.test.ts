// Rooms bigger than one worker (sfu/rooms/roomSpan.ts, pipes.ts): two real
// workers, a small consumer budget per worker, real WebRTC peers on the
// client core. Past the budget, new participants sit on a router of the room
// on the other worker; they hear and are heard through pipes, only of the
// producers someone there holds a consumer of; mute and forwarding act across
// the pipes; nothing stays open after they leave; and when the other worker
// dies, its participants move and the rest of the room goes on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types } from 'mediasoup';
import { openDatabase } from '../../sfu/db/database.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import type { Role } from '../../protocol/messages.ts';
import type { Participant } from '../../sfu/rooms/participant.ts';
import type { Room } from '../../sfu/rooms/room.ts';
import { parseExposition, total } from '../../tools/load/promText.ts';
import { until } from '../support/wait.ts';

const ROOM = 'spread';
const opus = opusTonePackets(440);
/** K = 2 and two consumers per listener: a listener holds the two best-placed voices only. */
const rooms = { forwardK: 2, maxConsumersPerListener: 2 };

/** Producer ids on `router` that are not of its own participants: what was piped to it. */
async function pipedTo(room: Room, router: types.Router): Promise<Set<string>> {
  const own = new Set([...slotOf(room, router).participants].flatMap((p) => (p.producer ? [p.producer.id] : [])));
  const producerIds = (await router.dump()).mapProducerIdConsumerIds.map((e) => e.key);
  return new Set(producerIds.filter((id) => !own.has(id)));
}

/**
 * What must be piped to `router`: the producers its participants hold
 * consumers of that live elsewhere, and, on the primary, every producer of
 * another router (the speaker observers need them).
 */
function neededOn(room: Room, router: types.Router): Set<string> {
  const slot = slotOf(room, router);
  const own = new Set([...slot.participants].flatMap((p) => (p.producer ? [p.producer.id] : [])));
  const needed = new Set([...slot.participants].flatMap((p) => [...p.consumers.values()].map((c) => c.producerId)));
  if (router === room.router) {
    for (const other of room.span.slots) if (other !== slot) for (const p of other.participants) if (p.producer) needed.add(p.producer.id);
  }
  return new Set([...needed].filter((id) => !own.has(id)));
}

const slotOf = (room: Room, router: types.Router) => room.span.slots.find((s) => s.router === router)!;
const sorted = (ids: Iterable<string>) => [...ids].sort();

/** Every router of the room has exactly the pipes it needs. */
async function pipesMatchNeeds(room: Room): Promise<boolean> {
  for (const { router } of room.span.slots) {
    if (sorted(await pipedTo(room, router)).join() !== sorted(neededOn(room, router)).join()) return false;
  }
  return true;
}

async function describePipes(room: Room): Promise<string> {
  const parts = await Promise.all(
    room.span.slots.map(async (s) => `worker ${s.media.index}: piped ${sorted(await pipedTo(room, s.router))} needed ${sorted(neededOn(room, s.router))}`),
  );
  return parts.join('; ');
}

describe('a room over its per-worker budget', () => {
  let chorus: TestChorus;
  let room: Room;
  const peers = new Map<string, NodePeer>();
  const peer = (name: string) => peers.get(name)!;
  const serverSide = (name: string): Participant => room.participants.get(peer(name).participantId)!;
  const producerOf = (name: string) => serverSide(name).producer!.id;

  /** Joins, then waits until everyone holds the consumers the policy gives them, so the next placement sees the real load. */
  async function join(name: string, role: Role, talking: boolean) {
    const p = await NodePeer.join(chorus, ROOM, name, opus, { role, talking });
    peers.set(name, p);
    room = chorus.rooms.rooms.get(ROOM)!;
    const producers = () => [...room.participants.values()].filter((x) => x.producer).length;
    await until(
      () => [...room.participants.values()].every((x) => x.consumers.size === Math.min(2, producers() - (x.producer ? 1 : 0))),
      `consumers settled after ${name} joined`,
      15_000,
    );
  }

  beforeAll(async () => {
    // Budget 8: S0, S1, S3 and L0 fill the first worker (2 consumers each); the rest go to the second.
    chorus = await startTestChorus({
      media: { workers: 2, maxConsumersPerWorker: 8 },
      rooms,
      signaling: { maxSocketsPerAddress: 100 },
    });
    await join('S0', 'speaker', true);
    await join('S1', 'speaker', false);
    await join('S3', 'speaker', false);
    await join('L0', 'listener', false);
    await join('L1', 'listener', false);
    await join('S2', 'speaker', true);
    await join('L2', 'listener', false);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...peers.values()].map((p) => p.close()));
    await chorus?.stop();
  });

  it('spreads over both workers: the first fills to its budget, later joiners sit on a router of the room on the other, their transports there', async () => {
    const [primary, second] = room.span.slots;
    expect(room.span.slots).toHaveLength(2);
    expect(primary!.media).not.toBe(second!.media);
    expect(room.workerOf(serverSide('S0'))).toBe(primary!.media);
    for (const n of ['S0', 'S1', 'S3', 'L0']) expect(room.workerOf(serverSide(n)), n).toBe(primary!.media);
    for (const n of ['L1', 'S2', 'L2']) expect(room.workerOf(serverSide(n)), n).toBe(second!.media);
    const transportsOn = async (r: types.Router) => new Set((await r.dump()).transportIds);
    const onSecond = await transportsOn(second!.router);
    for (const n of ['L1', 'S2', 'L2']) for (const t of serverSide(n).transports.values()) expect(onSecond.has(t.id), n).toBe(true);
    for (const w of chorus.pool.workers) expect(w.routerCount).toBe(1);
  });

  it('everyone hears both speakers, the one on the other worker included', async () => {
    for (const speaker of ['S0', 'S2']) {
      const from = peer(speaker).participantId;
      const listeners = [...peers.entries()].filter(([n]) => n !== speaker);
      await until(
        () => listeners.every(([, l]) => l.packetsFrom(from) > 20),
        () => `${speaker} heard by all (not by ${listeners.filter(([, l]) => l.packetsFrom(from) <= 20).map(([n]) => n)})`,
        20_000,
      );
    }
  });

  it('pipes only what someone holds a consumer of: the second worker lacks S3, the primary has S2 (for the observers)', async () => {
    const [primary, second] = room.span.slots;
    expect(await pipesMatchNeeds(room), await describePipes(room)).toBe(true);
    expect((await pipedTo(room, second!.router)).has(producerOf('S3'))).toBe(false);
    expect((await pipedTo(room, primary!.router)).has(producerOf('S2'))).toBe(true);
    // And once each: one pipe producer per (producer, router).
    expect(room.span.pipes.pipedTo(second!.router.id).sort()).toEqual(sorted(await pipedTo(room, second!.router)));
  });

  it('the per-worker gauges count each participant where its media lives, the room on its primary worker and as spanned on the other', async () => {
    const [primary, second] = room.span.slots;
    const samples = parseExposition(await (await fetch(`${chorus.url}/metrics`)).text());
    const on = (name: string, slot: typeof primary) => total(samples, name, { worker: String(slot!.media.index) });
    expect([on('chorus_participants', primary), on('chorus_participants', second)]).toEqual([4, 3]);
    expect([on('chorus_producers', primary), on('chorus_producers', second)]).toEqual([3, 1]);
    expect([on('chorus_rooms', primary), on('chorus_rooms', second)]).toEqual([1, 0]);
    expect([on('chorus_spanned_rooms', primary), on('chorus_spanned_rooms', second)]).toEqual([0, 1]);
    expect(on('chorus_piped_producers', primary)).toBe((await pipedTo(room, primary!.router)).size);
    expect(on('chorus_piped_producers', second)).toBe((await pipedTo(room, second!.router)).size);
    const held = (slot: typeof primary) => [...slot!.participants].reduce((n, p) => n + p.consumers.size, 0);
    expect([on('chorus_consumers', primary), on('chorus_consumers', second)]).toEqual([held(primary), held(second)]);
  });

  it("a mute (its own, or a moderator's) silences a speaker everywhere: the pipe producer pauses with it, and nobody on either worker receives it", async () => {
    const cases = [
      { speaker: 'S2', mute: () => peer('S2').call.setMuted(true) },
      { speaker: 'S0', mute: () => peer('S0').call.setMuted(true) },
      { speaker: 'S2', mute: () => room.forceMute(serverSide('S2'), true) },
    ];
    for (const { speaker, mute } of cases) {
      const other = speaker === 'S2' ? 'S0' : 'S2';
      const from = peer(speaker).participantId;
      await mute();
      const producerId = producerOf(speaker);
      // Its pipes on the other router pause with it (S2's to the primary stays for the observers, muted or not).
      const pipes = () => room.span.slots.flatMap((sl) => room.span.pipes.pipeOf(sl.router.id, producerId) ?? []);
      if (speaker === 'S2') expect(pipes()).toHaveLength(1);
      await until(() => serverSide(speaker).producer!.paused && pipes().every((pp) => pp.paused), `${speaker} paused, its pipes too`);
      const listeners = [...peers.entries()].filter(([n]) => n !== speaker && n !== other).map(([, l]) => l);
      const progress = async (n: number) => {
        const base = listeners.map((l) => l.packetsFrom(peer(other).participantId));
        await until(() => listeners.every((l, i) => l.packetsFrom(peer(other).participantId) > base[i]! + n), `${other} still heard`, 15_000);
      };
      await progress(10); // what was on its way before the pause has arrived
      const before = listeners.map((l) => l.packetsFrom(from));
      await progress(50); // a second of the other speaker
      expect(listeners.map((l) => l.packetsFrom(from)), `${speaker} muted`).toEqual(before);
      await peer(speaker).call.setMuted(false);
      await until(() => listeners.every((l, i) => l.packetsFrom(from) > before[i]! + 20), `${speaker} heard again`, 15_000);
    }
  }, 60_000);

  it('when the voices change, pipes follow the consumers: a new speaker on the first worker is piped over, and a pipe nobody needs any more is closed', async () => {
    const second = room.span.slots[1]!;
    const s1 = producerOf('S1');
    expect((await pipedTo(room, second.router)).has(s1), 'S1 piped while S2 holds it').toBe(true);
    peer('S0').talking = false;
    peer('S3').talking = true;
    const listeners = ['L1', 'L2', 'S2'].map(peer);
    const s3 = peer('S3').participantId;
    await until(() => listeners.every((l) => l.packetsFrom(s3) > 20), 'S3 heard on the second worker', 20_000);
    // S0 is held, so ranked before S1: the second worker's listeners hold S2 and S3, S2 holds S3 and S0; nobody there holds S1.
    let seen = '';
    await until(
      async () => {
        seen = await describePipes(room);
        return !neededOn(room, second.router).has(s1) && (await pipesMatchNeeds(room));
      },
      () => `pipes to follow the consumers (${seen})`,
      20_000,
    );
    expect((await pipedTo(room, second.router)).has(s1)).toBe(false);
    expect((await pipedTo(room, second.router)).has(producerOf('S3'))).toBe(true);
  }, 60_000);

  it('closes the second router and every pipe when its participants leave, and everything when the room empties', async () => {
    const [primary, second] = room.span.slots;
    for (const n of ['L1', 'S2', 'L2']) {
      await peer(n).close();
      peers.delete(n);
    }
    await until(() => second!.router.closed, 'the second router closed');
    expect(room.span.slots).toEqual([primary]);
    expect((await second!.media.worker.dump()).routerIds).toEqual([]);
    expect(second!.media.routerCount).toBe(0);
    expect(second!.media.consumerCount).toBe(0);
    // No pipe transport, pipe producer or pipe consumer left on the primary.
    const dump = await primary!.router.dump();
    const own = new Set([...primary!.participants].flatMap((p) => [...p.transports.values()].map((t) => t.id)));
    expect(dump.transportIds.filter((id) => !own.has(id))).toEqual([]);
    expect(await pipedTo(room, primary!.router)).toEqual(new Set());
    expect(room.span.pipes.size).toBe(0);
    expect(primary!.media.consumerCount).toBe([...room.participants.values()].reduce((n, p) => n + p.consumers.size, 0));

    for (const p of peers.values()) await p.close();
    peers.clear();
    await until(() => room.closed, 'room closed');
    for (const w of chorus.pool.workers) {
      expect((await w.worker.dump()).routerIds).toEqual([]);
      expect([w.routerCount, w.consumerCount, w.load]).toEqual([0, 0, 0]);
    }
  });
});

describe("the other worker of a spread room dies", () => {
  let chorus: TestChorus;
  const peers: NodePeer[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await chorus?.stop();
  });

  it('its participants move (same sessions, nobody leaves) and everyone hears the speakers again; the rest of the room never stops', async () => {
    // Budget 2: A and B (one consumer each) fill the first worker; C and D go to the second.
    chorus = await startTestChorus({ media: { workers: 2, maxConsumersPerWorker: 2 }, rooms, signaling: { maxSocketsPerAddress: 100 } });
    const join = async (name: string, role: Role) => {
      const p = await NodePeer.join(chorus, 'fragile', name, opusTonePackets(440), { role });
      peers.push(p);
      return p;
    };
    const a = await join('A', 'speaker');
    const b = await join('B', 'listener');
    const room = chorus.rooms.rooms.get('fragile')!;
    await until(() => room.participants.get(b.participantId)!.consumers.size === 1, 'B holds A');
    const c = await join('C', 'speaker');
    const d = await join('D', 'listener');
    const everyoneHears = (label: string, base = new Map<NodePeer, Map<string, number>>()) =>
      until(
        () =>
          peers.every((l) =>
            [a, c].every((s) => s === l || l.packetsFrom(s.participantId) > (base.get(l)?.get(s.participantId) ?? 0) + 20),
          ),
        label,
        20_000,
      );
    await everyoneHears('everyone hears A and C');
    const [primary, second] = room.span.slots;
    expect(room.workerOf(room.participant(c.participantId))).toBe(second!.media);
    expect(room.workerOf(room.participant(d.participantId))).toBe(second!.media);

    let moved = 0;
    for (const p of peers) p.call.on('moved', () => moved++);
    const atDeath = b.packetsFrom(a.participantId);
    const deadPid = second!.media.pid;
    process.kill(deadPid, 'SIGKILL');
    await until(() => moved === 2, () => `C and D moved (${moved} did)`, 20_000);
    // The primary never stopped: B kept hearing A.
    expect(b.packetsFrom(a.participantId)).toBeGreaterThan(atDeath);
    expect(room.span.slots[0]).toBe(primary);
    expect(room.router).toBe(primary!.router);
    expect([...room.participants.keys()].sort()).toEqual(peers.map((p) => p.participantId).sort());
    const base = new Map(peers.map((l) => [l, new Map([a, c].map((s) => [s.participantId, l.packetsFrom(s.participantId)]))]));
    await everyoneHears('everyone hears A and C again', base);
    expect(peers.flatMap((p) => p.signaling.notifications.filter((n) => n.notification === 'participantLeft'))).toEqual([]);
    expect(peers.map((p) => p.failure)).toEqual([undefined, undefined, undefined, undefined]);
    // Recorded as a move of C and D only: the room's own row stays on its worker, their sessions follow them.
    expect(await chorus.recorder.flush(5_000)).toBe(true);
    const db = openDatabase(chorus.databaseUrl);
    try {
      const moves = await db.selectFrom('room_moves').selectAll().execute();
      expect(moves.map((m) => [m.from_worker_pid, m.to_worker_pid, m.participants])).toEqual([[deadPid, primary!.media.pid, 2]]);
      const rows = await db.selectFrom('rooms').select('worker_pid').execute();
      expect(rows).toEqual([{ worker_pid: primary!.media.pid }]);
      const sessions = await db.selectFrom('participant_sessions').select(['id', 'worker_pid', 'left_at']).execute();
      expect(sessions.every((r) => r.worker_pid === primary!.media.pid && r.left_at === null)).toBe(true);
      expect(sessions).toHaveLength(4);
    } finally {
      await db.destroy();
    }
  }, 90_000);
});
