// Rooms across nodes when a node of the room goes (issue 14), with real
// processes: a real redis-server of the test's own, Chorus nodes with a
// per-node cap of 2 participants per room, one PostgreSQL; each test starts its
// own nodes (ids of its own) and ends them by pid. The owner SIGKILLed: its
// satellite takes the room over, its people keep their call (same sessions, no
// rejoin), the owner's people rejoin into it; two satellites racing for one
// dead owner's room: exactly one owns it; a satellite node SIGKILLed: the owner
// drops it at once; the owner's room closing (drain) closes the satellite's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { SignalingError } from '../../client/signaling.ts';
import { PROTOCOL_VERSION, wrongNodeData } from '../../protocol/messages.ts';
import { nodeKey } from '../../sfu/cluster/nodeRegistry.ts';
import { spanKey } from '../../sfu/cluster/octo.ts';
import { RoomLeases, roomKey } from '../../sfu/cluster/roomLeases.ts';
import { killChorusProcesses } from '../support/chorusProcess.ts';
import { type ClusterNode as Node, clusterFormed, clusterTarget, clusterToken, gauge, idleNodes, startClusterNode } from '../support/cluster.ts';
import { allHear, hears } from '../support/hearing.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { seesOnly } from '../support/roster.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

const SECRET = 'cluster-failover-test-auth-secret-0123456789';
const ADMIN = 'cluster-failover-admin-secret-0123';
const LEASE_MS = 2500;

interface AdminRoom {
  participants: { id: string }[];
  remote: { id: string; kind: 'mirror' | 'node'; node: string }[];
}

let redis: TestRedis;
let r: Redis;
let database: { url: string; drop(): Promise<void> };
let configDir: string;
let configFile: string;
/** This test's nodes and peers (ended after each test). */
let nodes: Node[] = [];
let peers: NodePeer[] = [];

/** Nodes `<prefix>-a`, `-b`, … that see each other and take new rooms. */
async function startNodes(prefix: string, count: number): Promise<Node[]> {
  const ids = ['a', 'b', 'c'].slice(0, count).map((x) => `${prefix}-${x}`);
  const started = await Promise.all(
    ids.map((id) =>
      startClusterNode(id, {
        redisUrl: redis.url,
        databaseUrl: database.url,
        secret: SECRET,
        env: { CHORUS_CONFIG: configFile, CHORUS_ADMIN_SECRET: ADMIN, CHORUS_RESUME_GRACE_MS: '3000', CHORUS_LOG_LEVEL: 'debug' },
      }),
    ),
  );
  nodes.push(...started);
  await clusterFormed(started, SECRET);
  // Idle (clusterFormed's probe rooms closed): a satellite is then the first other node by id.
  await idleNodes(redis.url, started);
  return started;
}

async function peer(node: Node, room: string, name: string, hz: number): Promise<NodePeer> {
  const p = await NodePeer.join(clusterTarget(node, SECRET), room, name, opusTonePackets(hz));
  peers.push(p);
  return p;
}

/** Two nodes; a room owned by a with Ada and Carl there (its cap), and Bob, sent on by a, on b, a satellite. */
async function spannedCall(prefix: string) {
  const [a, b] = (await startNodes(prefix, 2)) as [Node, Node];
  const name = room(prefix);
  await placeOn(name, a);
  const ada = await peer(a, name, 'Ada', 440);
  const carl = await peer(a, name, 'Carl', 550);
  const bob = await peer(a, name, 'Bob', 660);
  expect(bob.call.nodeUrl).toBe(b.wsUrl);
  return { a, b, name, ada, carl, bob };
}

async function adminRoom(node: Node, room: string): Promise<AdminRoom | undefined> {
  const res = await fetch(`${node.url}/admin/rooms/${room}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return res.status === 200 ? ((await res.json()) as AdminRoom) : undefined;
}

/** The room opens on `owner`: its lease claimed for it, as placement would (SET NX). */
async function placeOn(room: string, owner: Node): Promise<void> {
  expect(await r.set(roomKey(room), owner.id, 'PX', LEASE_MS, 'NX')).toBe('OK');
}

/** Whether (and how) `p`'s call did something, from now on: a flag to wait for with `until`. */
function seen<T>(listen: (done: (value: T) => void) => void): { value?: T } {
  const out: { value?: T } = {};
  listen((value) => (out.value ??= value));
  return out;
}

/** The calls' rejoins, counted from now (the satellite's people must have none). */
function rejoinsOf(...ps: NodePeer[]): () => number {
  let n = 0;
  for (const p of ps) p.call.on('rejoining', () => n++);
  return () => n;
}

/** Where a join through `node` is sent (WRONG_NODE's URL); fails if it is served there. */
async function wrongNodeUrl(node: Node, name: string): Promise<string> {
  const client = await ProtocolClient.connect(node.wsUrl);
  try {
    await client.call('join', { protocolVersion: PROTOCOL_VERSION, room: name, token: await clusterToken(SECRET, name) });
  } catch (err) {
    if (err instanceof SignalingError && err.code === 'WRONG_NODE') return wrongNodeData.parse(err.data).url;
    throw err;
  } finally {
    await client.close();
  }
  throw new Error(`joined ${name} at ${node.id}`);
}

async function sigkill(node: Node): Promise<void> {
  node.run.child.kill('SIGKILL');
  await node.run.exited;
}

const room = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  redis = await startTestRedis();
  r = new Redis(redis.url);
  database = await createTestDatabase(inject('postgresAdminUrl'));
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-failover-'));
  configFile = path.join(configDir, 'chorus.yaml');
  fs.writeFileSync(
    configFile,
    [
      `cluster: { heartbeatMs: 200, nodeTtlMs: 1200, leaseMs: ${LEASE_MS}, maxParticipantsPerNodePerRoom: 2 }`,
      'rooms: { emptyRoomCloseDelayMs: 500 }',
      'signaling: { maxSocketsPerAddress: 200, requestBurst: 1000 }',
      '',
    ].join('\n'),
  );
}, 60_000);

afterEach(async () => {
  await Promise.allSettled(peers.map((p) => p.close()));
  if (process.env.SPAN_LOGS) for (const n of nodes) fs.writeFileSync(`${process.env.SPAN_LOGS}/${n.id}.log`, n.run.output());
  for (const n of nodes) if (n.run.child.exitCode === null && n.run.child.signalCode === null) n.run.child.kill('SIGKILL');
  await Promise.allSettled(nodes.map((n) => n.run.exited));
  nodes = [];
  peers = [];
});

afterAll(async () => {
  killChorusProcesses();
  await r?.quit();
  await redis?.close();
  await database?.drop();
  if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
});

describe('a room spanning nodes whose owner dies', () => {
  it('the satellite takes the room over: its people keep their call (same sessions, no rejoin); the owner\'s people, rejoining through a third node, are sent to it and hear them', async () => {
    const [a, b, c] = await startNodes('kill', 3);
    const name = room('failover');
    await placeOn(name, a!);
    // Ada and Carl open the call through node c, which sends them to the owner, a.
    const ada = await peer(c!, name, 'Ada', 440);
    const carl = await peer(c!, name, 'Carl', 550);
    expect([ada.call.nodeUrl, carl.call.nodeUrl]).toEqual([a!.wsUrl, a!.wsUrl]);
    // The room is at its cap on a: Bob and Dan are sent on to a satellite (the first of the idle nodes).
    const bob = await peer(a!, name, 'Bob', 660);
    const dan = await peer(a!, name, 'Dan', 770);
    expect([bob.call.nodeUrl, dan.call.nodeUrl]).toEqual([b!.wsUrl, b!.wsUrl]);
    await allHear({ ada, carl, bob, dan });
    // The new gauges, on both ends of the span.
    expect(await gauge(a!, 'chorus_cluster_spanning_rooms', 'role="owner"')).toBe(1);
    expect(await gauge(b!, 'chorus_cluster_spanning_rooms', 'role="satellite"')).toBe(1);
    expect(await gauge(b!, 'chorus_cluster_spanning_rooms', 'role="owner"')).toBe(0);
    for (const n of [a!, b!]) {
      expect(await gauge(n, 'chorus_cluster_voices', 'direction="out"'), `${n.id} sends`).toBe(2);
      expect(await gauge(n, 'chorus_cluster_voices', 'direction="in"'), `${n.id} gets`).toBe(2);
    }
    const satellitePeople = [bob.participantId, dan.participantId].sort();
    const ownersPeople = [ada.participantId, carl.participantId];
    const rejoins = rejoinsOf(bob, dan);
    const adaRejoined = seen<true>((done) => ada.call.on('rejoined', () => done(true)));

    await sigkill(a!);
    // A join reaching c the moment a's heartbeat expires (the test deletes its key
    // at once, instead of waiting for its TTL), before b has noticed: c takes the
    // room over for b, the satellite, and sends the joiner there, not to a new room.
    await r.del(nodeKey(a!.id));
    expect(await wrongNodeUrl(c!, name)).toBe(b!.wsUrl);
    // b takes the room over: the lease is b's, the room an ordinary room of b's.
    await until(async () => (await r.get(roomKey(name))) === b!.id, 'b to hold the lease', 20_000);
    await until(async () => (await gauge(b!, 'chorus_cluster_satellite_takeovers_total', 'result="won"')) === 1, 'the takeover counted', 10_000);
    await hears(bob, dan, 'Bob to hear Dan after the takeover');
    await hears(dan, bob, 'Dan to hear Bob after the takeover');
    // The owner's people rejoin on their own (through c, their entry): into b's call. b is at its cap
    // with Bob and Dan: it sends them on to a satellite of its own, on c.
    await until(() => adaRejoined.value === true, 'Ada to rejoin', 30_000);
    await allHear({ ada, carl, bob, dan });
    expect([ada.call.nodeUrl, carl.call.nodeUrl]).toEqual([c!.wsUrl, c!.wsUrl]);
    const onB = (await adminRoom(b!, name))!;
    expect(onB.participants.map((p) => p.id).sort()).toEqual(satellitePeople);
    expect(onB.remote.filter((x) => x.kind === 'node').map((x) => x.node)).toEqual([c!.id]);
    expect((await adminRoom(c!, name))!.remote.every((x) => x.node === b!.id)).toBe(true);
    // One roster: the owner's people left Bob's and Dan's (their node is gone) and came back as new participants.
    for (const p of [bob, dan]) {
      for (const id of ownersPeople) {
        expect(await p.signaling.waitForNotification('participantLeft', (d) => d.participantId === id)).toMatchObject({ reason: 'disconnected' });
      }
    }
    await seesOnly(bob, [ada, carl, dan], 'Bob to see the call as it is now');
    await seesOnly(ada, [carl, bob, dan], 'Ada to see the call as it is now');
    // Bob and Dan never left: the same sessions, no rejoin, their calls never ended.
    expect([bob.participantId, dan.participantId].sort()).toEqual(satellitePeople);
    expect(rejoins()).toBe(0);
    expect(bob.call.isEnded || dan.call.isEnded).toBe(false);
    expect(await gauge(b!, 'chorus_cluster_spanning_rooms', 'role="owner"')).toBe(1);
    expect(await gauge(b!, 'chorus_cluster_spanning_rooms', 'role="satellite"')).toBe(0);
    expect(await gauge(c!, 'chorus_cluster_spanning_rooms', 'role="satellite"')).toBe(1);
  }, 120_000);

  it('of 40 takeovers racing for a dead node\'s room through two Redis connections (as satellites do), exactly one wins; none while the node has a heartbeat', async () => {
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    try {
      const leases = clients.map((c) => new RoomLeases(c, LEASE_MS));
      const race = (name: string) => Promise.all(Array.from({ length: 40 }, (_, i) => leases[i % 2]!.takeOver(name, 'gone', `heir-${i}`)));
      for (let round = 0; round < 10; round++) {
        const name = `takeover-race-${round}`;
        await r.set(roomKey(name), 'gone', 'PX', LEASE_MS);
        await r.set(nodeKey('gone'), '{}', 'PX', LEASE_MS);
        expect((await race(name)).some(Boolean), 'a takeover while the owner has a heartbeat').toBe(false);
        await r.del(nodeKey('gone'));
        const wins = await race(name);
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect(await r.get(roomKey(name))).toBe(`heir-${wins.indexOf(true)}`);
      }
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it('two satellites racing for the room of a dead owner: exactly one owns it, the other\'s people rejoin into its call', async () => {
    const [a, b, c] = await startNodes('race', 3);
    const name = room('race');
    await placeOn(name, a!);
    const ada = await peer(a!, name, 'Ada', 440);
    const carl = await peer(a!, name, 'Carl', 550);
    const bob = await peer(a!, name, 'Bob', 660); // sent to b, a satellite
    expect(bob.call.nodeUrl).toBe(b!.wsUrl);
    // The owner sends joiners to one satellite while it has one: the test names c too, as the owner would.
    await r.multi().sadd(spanKey(name), c!.id).pexpire(spanKey(name), LEASE_MS).exec();
    const eve = await peer(c!, name, 'Eve', 880);
    expect(eve.call.nodeUrl).toBe(c!.wsUrl);
    await allHear({ ada, bob, eve });

    await sigkill(a!);
    await until(async () => [b!.id, c!.id].includes((await r.get(roomKey(name))) ?? ''), 'a satellite to hold the lease', 20_000);
    const winner = (await r.get(roomKey(name))) === b!.id ? b! : c!;
    const loser = winner === b ? c! : b!;
    const [kept, moved] = winner === b ? [bob, eve] : [eve, bob];
    const keptId = kept.participantId;
    // Everyone in the winner's call again: the loser's and the owner's people rejoined.
    await allHear({ ada, carl, bob, eve });
    expect(await r.get(roomKey(name))).toBe(winner.id);
    expect(kept.participantId).toBe(keptId);
    expect((await adminRoom(winner, name))!.participants.map((p) => p.id)).toContain(keptId);
    expect(moved.call.nodeUrl === winner.wsUrl || (await adminRoom(loser, name))!.remote.every((x) => x.node === winner.id)).toBe(true);
    const won = async (n: Node) => gauge(n, 'chorus_cluster_satellite_takeovers_total', 'result="won"');
    expect([await won(winner), await won(loser)]).toEqual([1, 0]);
    expect(await gauge(loser, 'chorus_cluster_satellite_takeovers_total', 'result="lost"')).toBe(1);
  }, 120_000);
});

describe('a room spanning nodes whose satellite node dies, or whose owner closes it', () => {
  it('a satellite node SIGKILLed: the owner drops its stand-in and mirrors at once; its own call goes on', async () => {
    const { a, b, name, ada, carl, bob } = await spannedCall('sat');
    await allHear({ ada, carl, bob });
    expect((await adminRoom(a, name))!.remote).toHaveLength(2); // b's stand-in, Bob's mirror

    await sigkill(b);
    // Gone within a heartbeat of its node key expiring: no request to b has to time out first.
    await until(async () => (await adminRoom(a, name))?.remote.length === 0, 'the owner to drop the dead satellite', 5_000);
    expect(await gauge(a, 'chorus_cluster_spanning_rooms', 'role="owner"')).toBe(0);
    await allHear({ ada, carl });
  }, 90_000);

  it('the owner drains (SIGTERM): the satellite\'s room closes, its people rejoin, and everyone is in one call again', async () => {
    const { a, b, name, ada, carl, bob } = await spannedCall('drain');
    await allHear({ ada, bob });
    const told = seen<string>((done) => bob.call.on('notification', (n) => n.notification === 'roomClosed' && done(n.data.reason)));
    const rejoined = [ada, carl, bob].map((p) => seen<true>((done) => p.call.on('rejoined', () => done(true))));

    a.run.child.kill('SIGTERM');
    // Bob is told by his node, as the owner's people are by theirs, and rejoins.
    await until(() => told.value !== undefined, 'Bob to be told his room closed', 20_000);
    expect(told.value).toBe('serverShutdown');
    await until(() => rejoined.every((x) => x.value), 'everyone to rejoin', 30_000);
    await allHear({ ada, carl, bob });
    expect((await adminRoom(b, name))!.participants).toHaveLength(3);
    expect(await a.run.exited).toBe(0);
  }, 90_000);
});
