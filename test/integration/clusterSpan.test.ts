// Rooms across nodes (issue 14 §3) with real processes: a real redis-server
// of the test's own, two Chorus nodes with a per-node cap of 2 participants
// per room, one PostgreSQL. Ada and Carl (muted) fill the room on its owner;
// Bob (speaker) and Dan (listener), sent on by the owner, sit on a satellite
// on the other node. Each speaker is heard on both nodes; the owner pipes to
// the satellite only what is forwarded, once for the node; the satellite
// closes when its people leave, and the owner lets go of it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodePeer, type JoinTarget } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { TokenService } from '../../sfu/auth/tokens.ts';
import { killChorusProcesses } from '../support/chorusProcess.ts';
import { type ClusterNode as Node, gauge, startClusterNode } from '../support/cluster.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

const SECRET = 'cluster-span-test-auth-secret-0123456789';
const ADMIN = 'cluster-span-admin-secret-0123';
const tokens = new TokenService(SECRET);

interface AdminRoom {
  participants: { id: string }[];
  remote: { id: string; kind: 'mirror' | 'node'; node: string; piped?: { participantId: string; running: boolean }[] }[];
}

let redis: TestRedis;
let database: { url: string; drop(): Promise<void> };
let configDir: string;
const nodes: Node[] = [];
const peers: NodePeer[] = [];

/** A node of this test: the shared test set-up (test/support/cluster.ts) with this test's config and admin secret. */
async function startNode(id: string, configFile: string): Promise<Node> {
  const node = await startClusterNode(id, {
    redisUrl: redis.url,
    databaseUrl: database.url,
    secret: SECRET,
    env: { CHORUS_CONFIG: configFile, CHORUS_ADMIN_SECRET: ADMIN, CHORUS_LOG_LEVEL: 'debug' },
  });
  nodes.push(node);
  return node;
}

async function adminRoom(node: Node, room: string): Promise<AdminRoom | undefined> {
  const res = await fetch(`${node.url}/admin/rooms/${room}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return res.status === 200 ? ((await res.json()) as AdminRoom) : undefined;
}

const target = (node: Node): JoinTarget => ({
  wsUrl: node.wsUrl,
  token: (room, displayName, role = 'speaker', identity = randomUUID()) => tokens.sign({ identity, room, displayName, role }, 3600),
});

async function peer(node: Node, room: string, name: string, hz?: number, role: 'speaker' | 'listener' = 'speaker'): Promise<NodePeer> {
  const p = await NodePeer.join(target(node), room, name, hz ? opusTonePackets(hz) : undefined, { role });
  peers.push(p);
  return p;
}

const hears = (listener: NodePeer, speaker: NodePeer, what: string) =>
  until(() => listener.packetsFrom(speaker.participantId) > 20, what, 20_000);

beforeAll(async () => {
  redis = await startTestRedis();
  database = await createTestDatabase(inject('postgresAdminUrl'));
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-span-'));
  const configFile = path.join(configDir, 'chorus.yaml');
  fs.writeFileSync(
    configFile,
    [
      'cluster:',
      '  heartbeatMs: 200',
      '  nodeTtlMs: 1200',
      '  leaseMs: 2500',
      '  maxParticipantsPerNodePerRoom: 2',
      'rooms:',
      '  emptyRoomCloseDelayMs: 500',
      '  forwardK: 2',
      '  maxConsumersPerListener: 2',
      '',
    ].join('\n'),
  );
  const [a, b] = await Promise.all([startNode('node-a', configFile), startNode('node-b', configFile)]);
  for (const n of [a!, b!]) await until(async () => (await gauge(n, 'chorus_cluster_nodes')) === 2, `${n.id} to see both nodes`, 20_000);
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(peers.map((p) => p.close()));
  if (process.env.SPAN_LOGS) for (const n of nodes) fs.writeFileSync(`${process.env.SPAN_LOGS}/${n.id}.log`, n.run.output());
  killChorusProcesses();
  await Promise.allSettled(nodes.map((n) => n.run.exited));
  await redis?.close();
  await database?.drop();
  if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
});

describe('one room spanning two nodes', () => {
  it('speakers on each node are heard on both; only the forwarded voices cross, once per node; the satellite closes when its people leave', async () => {
    const [a, b] = nodes as [Node, Node];
    const room = `span-${randomUUID().slice(0, 8)}`;
    // Ada opens the room (through node a: wherever it is placed is the owner). A
    // node that just reached Redis places no room for two heartbeats: until then, again.
    let ada: NodePeer | undefined;
    await until(async () => {
      try {
        ada = await peer(a, room, 'Ada', 440);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'CLUSTER_UNAVAILABLE') return false;
        throw err;
      }
    }, 'a node to place the room', 20_000);
    ada = ada!;
    const owner = nodes.find((n) => n.wsUrl === ada!.call.nodeUrl)!;
    const other = owner === a ? b : a;
    const carl = await peer(owner, room, 'Carl', 550);
    await carl.call.setMuted(true);
    // The room is at its cap on the owner: the next two are sent to the other node, a satellite.
    const bob = await peer(owner, room, 'Bob', 660);
    const dan = await peer(owner, room, 'Dan', undefined, 'listener');
    expect(carl.call.nodeUrl).toBe(owner.wsUrl);
    expect(bob.call.nodeUrl).toBe(other.wsUrl);
    expect(dan.call.nodeUrl).toBe(other.wsUrl);

    // A speaker on each node, heard by the listeners on both.
    await hears(carl, ada, 'Carl (owner) to hear Ada (owner)');
    await hears(dan, ada, 'Dan (satellite) to hear Ada (owner)');
    await hears(bob, ada, 'Bob (satellite) to hear Ada (owner)');
    await hears(ada, bob, 'Ada (owner) to hear Bob (satellite)');
    await hears(carl, bob, 'Carl (owner) to hear Bob (satellite)');
    await hears(dan, bob, 'Dan (satellite) to hear Bob (satellite)');

    // The owner pipes to the satellite node what its forwarding selects for it:
    // Ada runs; Carl (muted) does not; Bob, who is there, never comes back;
    // one pipe per voice for the node, though Bob and Dan both hear Ada.
    const onOwner = (await adminRoom(owner, room))!;
    expect(onOwner.participants.map((p) => p.id).sort()).toEqual([ada.participantId, carl.participantId].sort());
    const standIn = onOwner.remote.find((r) => r.kind === 'node')!;
    expect(standIn.node).toBe(other.id);
    const piped = standIn.piped!;
    expect(piped.filter((p) => p.running).map((p) => p.participantId)).toEqual([ada.participantId]);
    expect(piped.map((p) => p.participantId)).not.toContain(bob.participantId);
    expect(new Set(piped.map((p) => p.participantId)).size).toBe(piped.length);
    // Bob is a mirror on the owner (his voice for its observers and listeners).
    expect(onOwner.remote.filter((r) => r.kind === 'mirror').map((r) => r.id)).toEqual([bob.participantId]);
    const onSatellite = (await adminRoom(other, room))!;
    expect(onSatellite.participants.map((p) => p.id).sort()).toEqual([bob.participantId, dan.participantId].sort());
    expect(onSatellite.remote.every((r) => r.kind === 'mirror' && r.node === owner.id)).toBe(true);

    // The satellite's people leave: it closes there, and the owner drops its stand-in and mirrors.
    await bob.close();
    await dan.close();
    await until(async () => (await adminRoom(other, room)) === undefined, 'the satellite to close', 20_000);
    await until(async () => (await adminRoom(owner, room))?.remote.length === 0, 'the owner to let go of the satellite', 20_000);
    // The owner's room goes on for its own people.
    expect((await adminRoom(owner, room))!.participants).toHaveLength(2);
  }, 90_000);
});
