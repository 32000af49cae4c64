// Cluster mode with real processes: a real redis-server of the test's own, two
// (or three) Chorus nodes started as `npm start` is, with their own ports, one
// shared PostgreSQL database and one auth secret. Node WebRTC peers on the
// client core join through either node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { SignalingError } from '../../client/signaling.ts';
import { PROTOCOL_VERSION, wrongNodeData } from '../../protocol/messages.ts';
import { RoomLeases } from '../../sfu/cluster/roomLeases.ts';
import { killChorusProcesses } from '../support/chorusProcess.ts';
import { type ClusterNode, adminRoom as adminRoomOf, clusterFormed, clusterTarget, clusterToken, idleNodes, joinError as joinErrorOf, startClusterNode } from '../support/cluster.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

const SECRET = 'cluster-test-auth-secret-0123456789-abcdef';
const ADMIN = 'cluster-test-admin-secret-0123';

type Node = ClusterNode;

let redis: TestRedis;
let database: { url: string; drop(): Promise<void> };
let configDir: string;
let configFile: string;
const nodes: Node[] = [];
const peers: NodePeer[] = [];

async function startNode(id: string): Promise<Node> {
  const node = await startClusterNode(id, {
    redisUrl: redis.url,
    databaseUrl: database.url,
    secret: SECRET,
    env: { CHORUS_CONFIG: configFile, CHORUS_ADMIN_SECRET: ADMIN, CHORUS_RESUME_GRACE_MS: '3000', CHORUS_LOG_LEVEL: 'debug' },
  });
  nodes.push(node);
  return node;
}

async function peer(node: Node, room: string, name: string, hz: number): Promise<NodePeer> {
  const p = await NodePeer.join(clusterTarget(node, SECRET), room, name, opusTonePackets(hz));
  peers.push(p);
  return p;
}

/** Ada through node a and Bob through node b in `room`, hearing each other. */
async function callThroughBoth(room: string): Promise<[NodePeer, NodePeer]> {
  const [a, b] = nodes as [Node, Node];
  const ada = await peer(a, room, 'Ada', 440);
  const bob = await peer(b, room, 'Bob', 660);
  await hearEachOther(ada, bob);
  return [ada, bob];
}

const hearEachOther = (x: NodePeer, y: NodePeer, what = 'audio both ways') =>
  until(() => x.packetsFrom(y.participantId) > 20 && y.packetsFrom(x.participantId) > 20, what, 20_000);

const token = (room: string, name = 'x') => clusterToken(SECRET, room, name);

/** A protocol-level join that follows WRONG_NODE once, as the client core does; says where it ended. */
async function joinFollowing(wsUrl: string, room: string): Promise<{ client: ProtocolClient; at: string }> {
  const join = { protocolVersion: PROTOCOL_VERSION, room, token: await token(room) };
  const c = await ProtocolClient.connect(wsUrl);
  try {
    await c.call('join', join);
    return { client: c, at: wsUrl };
  } catch (err) {
    await c.close();
    if (!(err instanceof SignalingError && err.code === 'WRONG_NODE')) throw err;
    const { url } = wrongNodeData.parse(err.data);
    const there = await ProtocolClient.connect(url);
    await there.call('join', join);
    return { client: there, at: url };
  }
}

const joinError = async (node: Node, room: string) => joinErrorOf(node, room, await token(room));

const adminRoom = (node: Node, room: string) => adminRoomOf(node, room, ADMIN);

/**
 * Both nodes hold no room and each has read the other's heartbeat saying so:
 * a new room is a tie, which each node breaks for itself, so joins through
 * both at once really race for the room's lease.
 */
const equalLoads = (...ns: Node[]) => idleNodes(redis.url, ns);

const nodeOf = (wsUrl: string) => nodes.find((n) => n.wsUrl === wsUrl)!;

beforeAll(async () => {
  redis = await startTestRedis();
  database = await createTestDatabase(inject('postgresAdminUrl'));
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-cluster-'));
  configFile = path.join(configDir, 'chorus.yaml');
  fs.writeFileSync(
    configFile,
    'cluster:\n  heartbeatMs: 200\n  nodeTtlMs: 1200\n  leaseMs: 2500\nrooms:\n  emptyRoomCloseDelayMs: 1000\nsignaling:\n  maxSocketsPerAddress: 200\n  requestBurst: 1000\n',
  );
  await Promise.all([startNode('node-a'), startNode('node-b')]);
  await clusterFormed(nodes, SECRET);
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(peers.map((p) => p.close()));
  killChorusProcesses();
  await Promise.allSettled(nodes.map((n) => n.run.exited));
  await redis?.close();
  await database?.drop();
  fs.rmSync(configDir, { recursive: true, force: true });
});

describe('room ownership in Redis', () => {
  it('of many claims racing for one room through two Redis connections, exactly one wins', async () => {
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    try {
      const leases = clients.map((c) => new RoomLeases(c, 5_000));
      for (let round = 0; round < 10; round++) {
        const room = `lease-race-${round}`;
        const wins = await Promise.all(Array.from({ length: 40 }, (_, i) => leases[i % 2]!.claim(room, `node-${i}`)));
        expect(wins.filter(Boolean)).toHaveLength(1);
        const owner = `node-${wins.indexOf(true)}`;
        expect(await leases[0]!.owner(room)).toBe(owner);
        // Only the owner renews or releases it.
        expect(await leases[1]!.renew([room], 'someone-else')).toEqual(['lost']);
        await leases[1]!.release(room, 'someone-else');
        expect(await leases[0]!.owner(room)).toBe(owner);
        expect(await leases[1]!.renew([room], owner)).toEqual(['renewed']);
      }
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });
});

describe('two nodes sharing Redis', () => {
  it('two nodes racing to create one room make one: every join ends on the same node, in one room', async () => {
    const [a, b] = nodes as [Node, Node];
    await equalLoads(a, b);
    const rooms = Array.from({ length: 6 }, (_, i) => `race-${i}`);
    const joins = await Promise.all(
      rooms.flatMap((room) => Array.from({ length: 6 }, (_, i) => joinFollowing((i % 2 ? b : a).wsUrl, room).then((j) => ({ room, ...j })))),
    );
    try {
      for (const room of rooms) {
        const mine = joins.filter((j) => j.room === room);
        expect(new Set(mine.map((j) => j.at)).size, `${room}: joins on one node`).toBe(1);
        const [onA, onB] = [await adminRoom(a, room), await adminRoom(b, room)];
        expect([onA, onB].filter(Boolean), `${room}: open on one node only`).toHaveLength(1);
        expect((onA ?? onB)!.participants).toHaveLength(6);
      }
      // It was a race: SET NX refused some claims, another join having just placed the room (logged at debug).
      const lost = (n: Node) => n.run.output().split('a racing join placed the room first').length - 1;
      expect(lost(a) + lost(b)).toBeGreaterThan(0);
    } finally {
      await Promise.all(joins.map((j) => j.client.close()));
    }
  }, 60_000);

  it('a room link opened through two different nodes ends in one call: the peers hear each other, and the session rows name the node', async () => {
    const [a, b] = nodes as [Node, Node];
    const [ada, bob] = await callThroughBoth('link');
    expect(bob.call.nodeUrl).toBe(ada.call.nodeUrl);
    const owner = nodeOf(ada.call.nodeUrl);
    expect(bob.call.joined.cluster?.nodes.sort()).toEqual([a.wsUrl, b.wsUrl].sort());
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      await until(async () => (await db.query('select 1 from participant_sessions where id = any($1)', [[ada.participantId, bob.participantId]])).rowCount === 2, 'session rows', 10_000);
      const rows = await db.query<{ node_id: string }>(
        'select s.node_id, r.node_id as room_node from participant_sessions s join rooms r on r.id = s.room_id where s.id = any($1)',
        [[ada.participantId, bob.participantId]],
      );
      for (const r of rows.rows) expect(r).toEqual({ node_id: owner.id, room_node: owner.id });
    } finally {
      await db.end();
    }
    await Promise.all([ada.close(), bob.close()]);
  }, 60_000);

  it('Redis stopped during a call: the call goes on, joins to its room on its node go on, a new room is refused (CLUSTER_UNAVAILABLE); Redis back: a new room works', async () => {
    const [a, b] = nodes as [Node, Node];
    const [ada, bob] = await callThroughBoth('outage');
    const owner = nodeOf(ada.call.nodeUrl);
    const other = owner === a ? b : a;

    await redis.stop();
    for (const n of [a, b]) {
      await until(async () => ((await (await fetch(`${n.url}/readyz`)).json()) as { redis?: string }).redis === 'unreachable', `${n.id} to see Redis gone`);
    }
    // The call goes on.
    const heard = ada.packetsFrom(bob.participantId);
    await until(() => ada.packetsFrom(bob.participantId) > heard + 100, 'audio after Redis stopped', 10_000);
    // A new room is refused, on both nodes, with a stable code.
    expect(await joinError(owner, 'outage-new')).toBe('CLUSTER_UNAVAILABLE');
    expect(await joinError(other, 'outage-new')).toBe('CLUSTER_UNAVAILABLE');
    // Someone joining the room through its own node gets in and hears the others.
    const cy = await peer(owner, 'outage', 'Cy', 880);
    await hearEachOther(cy, ada, 'Cy heard, Cy hears');

    await redis.start(); // empty: it keeps nothing
    let last: string | undefined;
    await until(async () => (last = await joinError(other, 'outage-back')) === undefined, () => `a new room after Redis is back (last: ${last})`, 20_000);
    // The owner took its lease back: the room is still one, reached through the other node.
    const again = await joinFollowing(other.wsUrl, 'outage');
    expect(again.at).toBe(owner.wsUrl);
    await again.client.close();
    expect(ada.call.isEnded || bob.call.isEnded || cy.call.isEnded).toBe(false);
    await Promise.all([ada.close(), bob.close(), cy.close()]);
  }, 90_000);

  it('Redis hung (SIGSTOP) during a call: the nodes see it unreachable, the call goes on, a new room is refused (CLUSTER_UNAVAILABLE); Redis resumed: the room is still one, with nobody rejoined', async () => {
    const [a, b] = nodes as [Node, Node];
    const [ada, bob] = await callThroughBoth('hung');
    const owner = nodeOf(ada.call.nodeUrl);
    const other = owner === a ? b : a;
    let rejoins = 0;
    for (const p of [ada, bob]) p.call.on('rejoined', () => rejoins++);

    // The TCP connections stay open: only commands not answered tell the nodes.
    process.kill(redis.pid!, 'SIGSTOP');
    try {
      for (const n of [a, b]) {
        await until(async () => ((await (await fetch(`${n.url}/readyz`)).json()) as { redis?: string }).redis === 'unreachable', `${n.id} to see Redis hung`);
      }
      const heard = ada.packetsFrom(bob.participantId);
      await until(() => ada.packetsFrom(bob.participantId) > heard + 100, 'audio while Redis hangs', 10_000);
      expect(await joinError(owner, 'hung-new')).toBe('CLUSTER_UNAVAILABLE');
      expect(await joinError(other, 'hung-new')).toBe('CLUSTER_UNAVAILABLE');
      // Longer than the lease and the nodes' TTL: on resuming, Redis expires every key at once.
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      process.kill(redis.pid!, 'SIGCONT');
    }
    let last: string | undefined;
    await until(async () => (last = await joinError(other, 'hung-back')) === undefined, () => `a new room after Redis resumed (last: ${last})`, 20_000);
    // Nobody took the room while its owner's heartbeat and lease were expired: it is still one, on its owner.
    const again = await joinFollowing(other.wsUrl, 'hung');
    expect(again.at).toBe(owner.wsUrl);
    await again.client.close();
    const since = [ada.packetsFrom(bob.participantId), bob.packetsFrom(ada.participantId)];
    await until(() => ada.packetsFrom(bob.participantId) > since[0]! + 50 && bob.packetsFrom(ada.participantId) > since[1]! + 50, 'audio both ways after Redis resumed', 10_000);
    expect(rejoins).toBe(0);
    expect(ada.call.nodeUrl).toBe(owner.wsUrl);
    await Promise.all([ada.close(), bob.close()]);
  }, 90_000);

  it('SIGKILL of the owner node: its peers rejoin on the other node, which takes the room, and hear each other again', async () => {
    const [a, b] = nodes as [Node, Node];
    const [ada, bob] = await callThroughBoth('failover');
    const owner = nodeOf(ada.call.nodeUrl);
    const survivor = owner === a ? b : a;
    const rejoined = [ada, bob].map((p) => new Promise<void>((resolve) => p.call.on('rejoined', () => resolve())));

    owner.run.child.kill('SIGKILL');
    await owner.run.exited;
    await Promise.all(rejoined);
    expect(ada.call.nodeUrl).toBe(survivor.wsUrl);
    expect(bob.call.nodeUrl).toBe(survivor.wsUrl);
    await hearEachOther(ada, bob, 'audio both ways again');
    expect((await adminRoom(survivor, 'failover'))?.participants).toHaveLength(2);
    expect(ada.call.isEnded || bob.call.isEnded).toBe(false);
  }, 120_000);
});
