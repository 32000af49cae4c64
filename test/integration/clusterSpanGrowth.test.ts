// A room across nodes that grows onto a third node (issue 14), with real
// processes: a real redis-server of the test's own, three Chorus nodes with a
// per-node cap of 1 participant per room (one set-up for every case), one
// PostgreSQL. The owner and each satellite hold only their cap: Ada on the
// owner, Bob on satellite 1, Cy on satellite 2, every voice heard on every
// node. The admin API of any node shows everyone with their node, and mutes
// and removes someone on another node. A joiner arriving straight at a full
// satellite ends on a node with room (a new satellite, or the owner) in one
// redirect, and so does a joiner sent to a node that filled up before they came.
// A second tab of one person on another node replaces the first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { SignalingError } from '../../client/signaling.ts';
import { PROTOCOL_VERSION, wrongNodeData } from '../../protocol/messages.ts';
import { roomKey } from '../../sfu/cluster/roomLeases.ts';
import { type ClusterNode as Node, adminRoom as adminRoomOf, clusterFormed, clusterTarget, endCluster, idleNodes, startClusterNode } from '../support/cluster.ts';
import { allHear } from '../support/hearing.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { seesOnly } from '../support/roster.ts';
import { until } from '../support/wait.ts';

const SECRET = 'cluster-growth-test-auth-secret-0123456789';
const ADMIN = 'cluster-growth-admin-secret-0123';
const LEASE_MS = 2500;

let redis: TestRedis;
let r: Redis;
let database: { url: string; drop(): Promise<void> };
let configDir: string;
let nodes: Node[] = [];
const peers: NodePeer[] = [];
/** The room of the first cases, owned by nodes[0]. */
const ROOM = `grow-${randomUUID().slice(0, 8)}`;

async function peer(node: Node, room: string, name: string, hz: number, identity?: string): Promise<NodePeer> {
  const p = await NodePeer.join(clusterTarget(node, SECRET, identity), room, name, opusTonePackets(hz));
  peers.push(p);
  return p;
}

const nodeOf = (p: NodePeer) => nodes.find((n) => n.wsUrl === p.call.nodeUrl)!;
const adminRoom = (node: Node, room = ROOM) => adminRoomOf(node, room, ADMIN);
const admin = (node: Node, method: string, route: string, body?: unknown) =>
  fetch(`${node.url}/admin/rooms/${ROOM}${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The room opens on `owner`: its lease claimed for it, as placement would (SET NX). */
async function placeOn(room: string, owner: Node): Promise<void> {
  expect(await r.set(roomKey(room), owner.id, 'PX', LEASE_MS, 'NX')).toBe('OK');
}

/** The participants each node holds of the room (its admin API), by node id. */
async function holding(room = ROOM): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const n of nodes) out[n.id] = ((await adminRoom(n, room))?.participants ?? []).map((p) => p.displayName);
  return out;
}

let ada: NodePeer;
let bob: NodePeer;
let cy: NodePeer;

beforeAll(async () => {
  redis = await startTestRedis();
  r = new Redis(redis.url);
  database = await createTestDatabase(inject('postgresAdminUrl'));
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-growth-'));
  const configFile = path.join(configDir, 'chorus.yaml');
  fs.writeFileSync(
    configFile,
    [
      `cluster: { heartbeatMs: 200, nodeTtlMs: 1200, leaseMs: ${LEASE_MS}, maxParticipantsPerNodePerRoom: 1 }`,
      'rooms: { emptyRoomCloseDelayMs: 500 }',
      '',
    ].join('\n'),
  );
  nodes = await Promise.all(
    ['grow-a', 'grow-b', 'grow-c'].map((id) =>
      startClusterNode(id, {
        redisUrl: redis.url,
        databaseUrl: database.url,
        secret: SECRET,
        env: { CHORUS_CONFIG: configFile, CHORUS_ADMIN_SECRET: ADMIN, CHORUS_LOG_LEVEL: 'debug' },
      }),
    ),
  );
  await clusterFormed(nodes, SECRET);
  await idleNodes(redis.url, nodes);
}, 90_000);

afterAll(async () => {
  await r?.quit();
  await endCluster({ peers, nodes, redis, database, configDir });
});

describe('a room with a per-node cap of 1 over three nodes', () => {
  it('grows onto a third node: owner, satellite 1, satellite 2, each holding only its cap; every voice heard on every node', async () => {
    const [a] = nodes as [Node, Node, Node];
    await placeOn(ROOM, a);
    ada = await peer(a, ROOM, 'Ada', 440);
    // The owner is at its cap: Bob is sent to a satellite, then (both full) Cy to a third node.
    bob = await peer(a, ROOM, 'Bob', 660);
    await seesOnly(ada, [bob], 'Ada to see Bob');
    cy = await peer(a, ROOM, 'Cy', 880);
    expect(nodeOf(ada)).toBe(a);
    expect(new Set([ada, bob, cy].map(nodeOf)).size).toBe(3);
    await allHear({ ada, bob, cy });
    expect(await holding()).toEqual({ [a.id]: ['Ada'], [nodeOf(bob).id]: ['Bob'], [nodeOf(cy).id]: ['Cy'] });
    await seesOnly(cy, [ada, bob], 'Cy (satellite 2) to see Ada and Bob');
  }, 60_000);

  it('the admin API of any node shows everyone with their node; it mutes and removes someone on another node', async () => {
    const [a] = nodes as [Node, Node, Node];
    const [b, c] = [nodeOf(bob), nodeOf(cy)];
    // Each node shows its own person, and the others with their nodes and identities.
    for (const n of nodes) {
      const room = (await adminRoom(n))!;
      const all = [...room.participants.map((p) => ({ ...p, node: n.id })), ...room.elsewhere];
      expect(all.map((p) => `${p.displayName}@${p.node}`).sort(), n.id).toEqual([`Ada@${a.id}`, `Bob@${b.id}`, `Cy@${c.id}`]);
      expect(all.every((p) => typeof p.identity === 'string' && p.identity.length > 0)).toBe(true);
    }
    // Cy (satellite 2) muted through satellite 1's admin API: through the owner to Cy's node.
    expect((await admin(b, 'POST', `/participants/${cy.participantId}/mute`, { allowUnmute: false })).status).toBe(204);
    expect(await cy.signaling.waitForNotification('forceMuted')).toEqual({ allowUnmute: false });
    for (const p of [ada, bob]) await p.signaling.waitForNotification('producerPaused', (d) => d.participantId === cy.participantId);
    await until(async () => (await adminRoom(a))!.elsewhere.find((p) => p.id === cy.participantId)?.muted === true, 'the owner to show Cy muted');
    expect(await cy.signaling.request('unmute', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Nobody of that id anywhere in the room: NOT_FOUND.
    const nobody = await admin(b, 'POST', '/participants/nobody/mute', {});
    expect([nobody.status, ((await nobody.json()) as { error: { code: string } }).error.code]).toEqual([404, 'NOT_FOUND']);
    // Cy removed through the owner's admin API: her node removes her, and her satellite closes.
    expect((await admin(a, 'DELETE', `/participants/${cy.participantId}`)).status).toBe(204);
    await until(() => cy.call.isEnded, 'Cy\'s call to end');
    expect(cy.failure?.message).toMatch(/: removed$/);
    await seesOnly(bob, [ada], 'Bob to see Cy leave');
    await until(async () => (await adminRoom(c)) === undefined, 'the satellite Cy was on to close', 20_000);
  }, 60_000);

  it('a joiner arriving straight at a full satellite ends on a node with room in one redirect: a new satellite, or the owner', async () => {
    const [a] = nodes as [Node, Node, Node];
    const b = nodeOf(bob);
    const c = nodes.find((n) => n !== a && n !== b)!;
    // Bob's satellite is full; the owner too (Ada): Dan goes to a new satellite, on the node left.
    const dan = await peer(b, ROOM, 'Dan', 770);
    expect(nodeOf(dan)).toBe(c);
    await allHear({ ada, bob, dan });
    // Ada leaves: the owner has room (its room held open by its satellites). Eve, at Dan's full satellite, goes there.
    await ada.close();
    await seesOnly(dan, [bob], 'Dan to see Ada leave');
    const eve = await peer(c, ROOM, 'Eve', 990);
    expect(nodeOf(eve)).toBe(a);
    await allHear({ bob, dan, eve });
    expect(await holding()).toEqual({ [a.id]: ['Eve'], [b.id]: ['Bob'], [c.id]: ['Dan'] });
  }, 60_000);

  it('a joiner sent to a node that filled up before they came is served there: never a second redirect', async () => {
    const [a] = nodes as [Node, Node, Node];
    const room = `seat-${randomUUID().slice(0, 8)}`;
    await placeOn(room, a);
    const ann = await peer(a, room, 'Ann', 440);
    // The owner is full: it sends Ben on (the WRONG_NODE, before he follows it)...
    const benIdentity = randomUUID();
    const first = await ProtocolClient.connect(a.wsUrl);
    let sentTo: string | undefined;
    try {
      const token = await clusterTarget(a, SECRET, benIdentity).token(room, 'Ben');
      await first.call('join', { protocolVersion: PROTOCOL_VERSION, room, token });
    } catch (err) {
      if (err instanceof SignalingError && err.code === 'WRONG_NODE') sentTo = wrongNodeData.parse(err.data).url;
    } finally {
      await first.close();
    }
    const target = nodes.find((n) => n.wsUrl === sentTo);
    expect(target, 'Ben sent to another node').toBeDefined();
    // ...and before he gets there, Cal joins there straight: that node is at its cap now.
    const cal = await peer(target!, room, 'Cal', 550);
    await seesOnly(ann, [cal], 'Ann (owner) to see Cal: that node is part of the room, and full');
    // Ben follows the redirect: served there, past the cap, not sent on again.
    const ben = await peer(target!, room, 'Ben', 660, benIdentity);
    expect(nodeOf(ben)).toBe(target);
    expect((await holding(room))[target!.id]!.sort()).toEqual(['Ben', 'Cal']);
  }, 60_000);

  it('a second tab of one person, sent to a satellite that opens for it, replaces the first on the owner', async () => {
    const [a] = nodes as [Node, Node, Node];
    const room = `tab-${randomUUID().slice(0, 8)}`;
    await placeOn(room, a);
    const identity = randomUUID();
    const first = await peer(a, room, 'Gil', 440, identity);
    const second = await peer(a, room, 'Gil', 440, identity); // the owner is full: a new satellite
    expect(nodeOf(second)).not.toBe(a);
    await until(() => first.call.isEnded, 'the first tab\'s call to end');
    expect(first.failure?.message).toMatch(/: replaced$/);
    await until(async () => JSON.stringify(await holding(room)) === JSON.stringify({ ...Object.fromEntries(nodes.map((n) => [n.id, []])), [nodeOf(second).id]: ['Gil'] }), 'only the second tab in the room');
  }, 60_000);
});
