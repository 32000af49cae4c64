// A draining cluster node (SIGTERM's first step) takes no new rooms: two nodes
// in this process on a redis-server of the test's own; one drains (and stays
// up, draining), the other gets every new room, and joins reaching the
// draining one are sent there, its own rooms included once they closed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { SignalingError } from '../../client/signaling.ts';
import { PROTOCOL_VERSION, wrongNodeData } from '../../protocol/messages.ts';
import { startTestChorus, type TestChorus } from '../support/chorus.ts';
import { freePort } from '../support/freePort.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

const SECRET = 'cluster-drain-test-secret-0123456789-abcdef';
let redis: TestRedis;
let a: TestChorus;
let b: TestChorus;
const clients: ProtocolClient[] = [];

async function node(id: string): Promise<TestChorus> {
  const port = await freePort();
  return startTestChorus({
    http: { port },
    auth: { secret: SECRET },
    signaling: { maxSocketsPerAddress: 1000 },
    cluster: { redisUrl: redis.url, publicUrl: `http://127.0.0.1:${port}`, nodeId: id, heartbeatMs: 200, nodeTtlMs: 1200, leaseMs: 2500 },
  });
}

/** Joins `room` through `via`: where it joined, or the error (with WRONG_NODE's target). */
async function join(via: TestChorus, room: string): Promise<{ joined: boolean; code?: string; to?: string }> {
  const c = await ProtocolClient.connect(via.wsUrl);
  clients.push(c);
  const token = await via.tokens.sign({ identity: randomUUID(), room, displayName: 'x', role: 'speaker' }, 3600);
  try {
    await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token });
    return { joined: true };
  } catch (err) {
    const e = err as SignalingError;
    return { joined: false, code: e.code, to: e.code === 'WRONG_NODE' ? wrongNodeData.parse(e.data).nodeId : undefined };
  }
}

beforeAll(async () => {
  redis = await startTestRedis();
  [a, b] = await Promise.all([node('drain-a'), node('drain-b')]);
  for (const n of [a, b]) {
    await until(() => n.cluster!.liveNodes() === 2, `${n.nodeId} to see both nodes`, 20_000);
    await until(async () => (await join(n, `probe-${n.nodeId}`)).code !== 'CLUSTER_UNAVAILABLE', `${n.nodeId} to take rooms`, 20_000);
  }
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await redis?.close();
});

describe('pages of one node on another', () => {
  it("a node's page may open every node's WebSocket: their origins are allowed and its CSP names their sockets", async () => {
    const csp = (await fetch(`${a.url}/`)).headers.get('content-security-policy')!;
    expect(/connect-src [^;]*/.exec(csp)![0].split(' ')).toEqual(expect.arrayContaining([b.wsUrl, a.wsUrl]));
    const opens = (url: string, origin: string) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url, { headers: { origin } });
        ws.on('open', () => (ws.close(), resolve(true)));
        ws.on('error', () => resolve(false));
      });
    expect(await opens(a.wsUrl, new URL(b.url).origin)).toBe(true);
    expect(await opens(a.wsUrl, 'http://elsewhere.example')).toBe(false);
  });
});

describe('dev tokens across nodes', () => {
  const devToken = async (via: TestChorus, room: string) => {
    const res = await fetch(`${via.url}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room, name: 'x' }),
    });
    return ((await res.json()) as { role: string }).role;
  };

  it('give one moderator token for a new room, whichever nodes are asked at once, and none for a room open on another node', async () => {
    for (let i = 0; i < 3; i++) {
      const room = `first-${i}-${randomUUID().slice(0, 8)}`;
      const roles = await Promise.all([devToken(a, room), devToken(b, room), devToken(a, room), devToken(b, room)]);
      expect(roles.filter((r) => r === 'moderator'), roles.join()).toHaveLength(1);
      expect(roles.filter((r) => r === 'speaker')).toHaveLength(3);
    }
    // A room with someone in it on one node (after the claim window): the other, which has nobody there, gives no moderator.
    // (Placement may put the room on either node, by their loads: the join follows it.)
    const open = `open-${randomUUID().slice(0, 8)}`;
    const first = await join(a, open);
    const owner = first.joined ? a : b;
    if (!first.joined) expect(await join(b, open)).toEqual({ joined: true });
    const other = owner === a ? b : a;
    // As if the claim window had passed:
    const r = new Redis(redis.url);
    await r.del(`chorus:devmod:${open}`);
    r.disconnect();
    expect(await devToken(other, open)).toBe('speaker');
    await clients.pop()!.close(); // leaves: the loads the drain test compares are as before
  });
});

describe('a draining cluster node', () => {
  it('gets no new room, though it is the least loaded: joins through it are sent to the other node, its own rooms too once closed', async () => {
    // b is busier (placement would pick a), and a has a room with someone in it. The rooms are given to their nodes
    // in Redis first, as a placement would (the loads left by the earlier tests could make placement pick otherwise).
    const r = new Redis(redis.url);
    await r.set('chorus:room:busy', 'drain-b', 'PX', 10_000);
    await r.set('chorus:room:before', 'drain-a', 'PX', 10_000);
    r.disconnect();
    for (let i = 0; i < 3; i++) expect(await join(b, 'busy')).toEqual({ joined: true });
    expect(await join(a, 'before')).toEqual({ joined: true });
    const inBefore = clients.at(-1)!;
    const told = inBefore.waitForNotification('roomClosed');
    const seenByA = (id: string) => a.cluster!.router.nodes.nodes.find((n) => n.id === id);
    await until(() => (seenByA('drain-b')?.participants ?? 0) >= (seenByA('drain-a')?.participants ?? 0) + 2, 'a to see b busier', 10_000);

    await a.drain();
    expect((await told).reason).toBe('serverShutdown');
    await until(() => b.cluster!.router.nodes.nodes.some((n) => n.id === 'drain-a' && n.draining), 'b to see a draining', 10_000);

    for (const room of ['new-1', 'new-2', 'before']) {
      expect(await join(a, room), `${room} through the draining node`).toEqual({ joined: false, code: 'WRONG_NODE', to: 'drain-b' });
      expect(await join(b, room), `${room} through the other`).toEqual({ joined: true });
    }
    // Asked first of the other node, which sees the draining one as the least loaded: it places the room on itself.
    expect(await join(b, 'new-3'), 'new-3 through the other node first').toEqual({ joined: true });
  }, 60_000);
});
