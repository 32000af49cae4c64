// The "Chorus: cluster" dashboard against reality: a real Prometheus scrapes two
// real cluster nodes (Chorus processes on a real redis-server of the test's
// own, one PostgreSQL), while the cluster does what the panels show: a room
// placed on one node spans its two workers (WebRTC peers, a per-worker
// consumer budget of 2), a new room asked of that node is placed on the other
// (WRONG_NODE, followed by the client core), a fourth joiner of the first room
// is sent on to a satellite on the other node (rooms across nodes, a per-node
// cap of 3), a lease is taken from its owner, a third node (not scraped) dies
// under a room it owns whose satellite takes it over, and Redis stops for a
// moment (a new room refused meanwhile). Then every panel
// query must return finite values, above 0 on some node, and every query that
// shows nodes must show both, by their node ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dashboards } from '../../grafana/src/index.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { roomKey } from '../../sfu/cluster/roomLeases.ts';
import { killChorusProcesses } from '../support/chorusProcess.ts';
import { type ClusterNode, clusterFormed, clusterTarget, clusterToken, gauge, joinError, startClusterNode } from '../support/cluster.ts';
import { checkDashboard, fillVariables, problems } from '../support/dashboardCheck.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { type TestPrometheus, startPrometheus } from '../support/prometheus.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';
import { PROTOCOL_VERSION, wrongNodeData } from '../../protocol/messages.ts';
import type { SignalingError } from '../../client/signaling.ts';

const SECRET = 'cluster-dash-auth-secret-0123456789-abcdef';
const dashboard = dashboards['chorus-cluster.json']!;

let redis: TestRedis;
let database: { url: string; drop(): Promise<void> };
let configDir: string;
let prometheus: TestPrometheus;
const nodes: ClusterNode[] = [];
const peers: NodePeer[] = [];
/** Protocol-level participants (no media). */
const clients: ProtocolClient[] = [];

/** Waits until Prometheus has scraped every node `n` more times. */
async function scrapes(n: number): Promise<void> {
  const enough = (await prometheus.scrapes()) + n;
  await until(async () => (await prometheus.scrapes()) >= enough, `${n} more scrapes`, 30_000);
}

const owned = (node: ClusterNode) => gauge(node, 'chorus_cluster_owned_rooms');

beforeAll(async () => {
  redis = await startTestRedis();
  database = await createTestDatabase(inject('postgresAdminUrl'));
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-cluster-dash-'));
  const configFile = path.join(configDir, 'chorus.yaml');
  const heirConfig = path.join(configDir, 'heir.yaml');
  fs.writeFileSync(
    configFile,
    [
      'cluster: { heartbeatMs: 200, nodeTtlMs: 1200, leaseMs: 2500, maxParticipantsPerNodePerRoom: 3 }',
      // A third participant does not fit on the room's first worker: the room spans both.
      'media: { maxConsumersPerWorker: 2 }',
      'metrics: { statsIntervalMs: 500 }',
      'rooms: { emptyRoomCloseDelayMs: 1000 }',
      '',
    ].join('\n'),
  );
  // The third node's rooms send their second joiner to a satellite.
  fs.writeFileSync(heirConfig, fs.readFileSync(configFile, 'utf8').replace('maxParticipantsPerNodePerRoom: 3', 'maxParticipantsPerNodePerRoom: 1'));
  const env = { CHORUS_CONFIG: configFile, CHORUS_WORKERS: '2' };
  nodes.push(
    ...(await Promise.all(['node-a', 'node-b'].map((id) => startClusterNode(id, { redisUrl: redis.url, databaseUrl: database.url, secret: SECRET, env })))),
  );
  await clusterFormed(nodes, SECRET);
  prometheus = await startPrometheus(nodes.map((n) => new URL(n.url).host));
  // Prometheus sees idle nodes first, so every counter the scenario moves rises between its samples.
  await scrapes(2);

  // A room of three through node a, spanning the two workers of the node it is placed on.
  for (const [name, hz] of [['Ada', 440], ['Bob', 660], ['Cy', 880]] as const) {
    peers.push(await NodePeer.join(clusterTarget(nodes[0]!, SECRET), 'span', name, opusTonePackets(hz)));
  }
  const [ada, bob, cy] = peers as [NodePeer, NodePeer, NodePeer];
  await until(() => [ada, bob, cy].every((p) => [ada, bob, cy].every((o) => o === p || p.packetsFrom(o.participantId) > 20)), 'everyone to hear everyone', 20_000);
  const owner = (await owned(nodes[0]!)) > 0 ? nodes[0]! : nodes[1]!;
  const other = nodes.find((n) => n !== owner)!;
  await until(async () => (await prometheus.query('sum(chorus_spanned_rooms) > 0')).result.length > 0, 'the room to span two workers', 20_000);
  // At its cap (3) on its owner: a fourth joiner is sent on to a satellite on the other node; voices cross both ways.
  const dan = await NodePeer.join(clusterTarget(owner, SECRET), 'span', 'Dan', opusTonePackets(770));
  peers.push(dan);
  expect(dan.call.nodeUrl).toBe(other.wsUrl);
  await until(() => dan.packetsFrom(ada.participantId) > 20 && ada.packetsFrom(dan.participantId) > 20, 'Ada and Dan to hear each other across nodes', 20_000);
  // A new room asked of the busy node goes to the other (placed elsewhere, WRONG_NODE followed).
  await new Promise((r) => setTimeout(r, 600)); // a heartbeat with the three participants
  peers.push(await NodePeer.join(clusterTarget(owner, SECRET), 'solo', 'Dee', opusTonePackets(550)));
  await until(async () => (await owned(other)) >= 1, 'the new room on the other node', 20_000);

  // A lease lost: another node's id written over the lease of a room open on its owner.
  const lease = await ProtocolClient.connect(other.wsUrl);
  await lease.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'lease', token: await clusterToken(SECRET, 'lease') });
  const r = new Redis(redis.url);
  const leaseOwner = await r.get(roomKey('lease'));
  await r.set(roomKey('lease'), nodes.find((n) => n.id !== leaseOwner)!.id, 'PX', 60_000);
  await r.quit();
  // Its owner finds the lease someone else's at renewal: it closes the room (its client is told).
  await lease.waitForNotification('roomClosed', (d) => d.reason === 'serverShutdown');
  await lease.close();
  await scrapes(2);

  // A satellite takeover: a room owned by a third node (not scraped), its second joiner on a
  // satellite here (node a or b); the third node SIGKILLed, the satellite takes the room over.
  const c = await startClusterNode('node-c', { redisUrl: redis.url, databaseUrl: database.url, secret: SECRET, env: { CHORUS_CONFIG: heirConfig } });
  await clusterFormed([...nodes, c], SECRET);
  const placing = new Redis(redis.url);
  await placing.set(roomKey('heir'), c.id, 'PX', 2500, 'NX'); // the room opens on c (as placement would have it)
  await placing.quit();
  const joinHeir = async (url: string) => {
    const client = await ProtocolClient.connect(url);
    try {
      await client.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'heir', token: await clusterToken(SECRET, 'heir') });
      clients.push(client);
      return undefined;
    } catch (err) {
      await client.close();
      return wrongNodeData.parse((err as SignalingError).data).url; // the second joiner: sent to the satellite
    }
  };
  await joinHeir(c.wsUrl);
  await joinHeir((await joinHeir(c.wsUrl))!);
  const satellites = async () => (await Promise.all(nodes.map((n) => gauge(n, 'chorus_cluster_spanning_rooms', 'role="satellite"')))).reduce((x, y) => x + y);
  await until(async () => (await satellites()) === 2, 'a satellite of the third node\'s room', 20_000);
  c.run.child.kill('SIGKILL');
  await c.run.exited;
  const takeovers = async () => (await Promise.all(nodes.map((n) => gauge(n, 'chorus_cluster_satellite_takeovers_total', 'result="won"')))).reduce((x, y) => x + y);
  await until(async () => (await takeovers()) === 1, 'the satellite to take the room over', 20_000);
  await clusterFormed(nodes, SECRET);
  await scrapes(2);

  // Redis stopped for a moment: connection errors, and a new room refused meanwhile.
  await redis.stop();
  await until(async () => (await joinError(nodes[0]!, 'outage', await clusterToken(SECRET, 'outage'))) === 'CLUSTER_UNAVAILABLE', 'a new room refused', 10_000);
  for (const n of nodes) {
    await until(async () => ((await (await fetch(`${n.url}/readyz`)).json()) as { redis: string }).redis === 'unreachable', `${n.id} to lose Redis`, 10_000);
  }
  // An outage of two seconds: the nodes' reconnects (0.2 s, 0.4 s, 0.8 s, ...) fail meanwhile.
  await new Promise((r) => setTimeout(r, 2_000));
  await redis.start();
  await clusterFormed(nodes, SECRET);
  await scrapes(4);
}, 150_000);

afterAll(async () => {
  await Promise.allSettled(peers.map((p) => p.close()));
  await Promise.allSettled(clients.map((c) => c.close()));
  await prometheus?.stop();
  killChorusProcesses();
  await Promise.allSettled(nodes.map((n) => n.run.exited));
  await redis?.close();
  await database?.drop();
  if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
});

describe('the Chorus: cluster dashboard, on a real Prometheus scraping two real nodes', () => {
  it('every panel query returns finite values, above 0 on some node', async () => {
    const found = await checkDashboard(prometheus, dashboard);
    expect(found.queries.length).toBeGreaterThan(10);
    expect(problems(found)).toEqual({});
  });

  // The overview and workers dashboards are read in a cluster too: their per-worker series must say which node
  // (the overview sums the rest over the nodes, and has no node variable).
  it.each([
    ['chorus-cluster.json', true],
    ['chorus-workers.json', true],
    ['chorus-overview.json', false],
  ] as const)(
    '%s: every query that shows nodes shows both, by node id; a node variable (%s) finds both',
    async (file, nodeVariable) => {
      const d = dashboards[file]!;
      const perNode = (d.panels ?? [])
        .flatMap((p) => ('targets' in p ? (p.targets ?? []) : []))
        .map((t) => t as { expr: string; legendFormat?: string })
        .filter((t) => t.legendFormat?.includes('{{node}}'));
      expect(perNode.length).toBeGreaterThan(file === 'chorus-cluster.json' ? 8 : 0);
      const wrong: string[] = [];
      for (const t of perNode) {
        const result = (await prometheus.query(fillVariables(t.expr))).result as { metric: { node?: string } }[];
        const seen = [...new Set(result.map((s) => s.metric.node ?? '(none)'))].sort();
        if (JSON.stringify(seen) !== JSON.stringify(['node-a', 'node-b'])) wrong.push(`${t.expr}: ${seen.join(', ')}`);
      }
      expect(wrong, 'queries not showing each node').toEqual([]);
      const variable = d.templating?.list?.find((v) => v.name === 'node');
      expect(Boolean(variable)).toBe(nodeVariable);
      if (!variable) return;
      const m = /^label_values\((\w+), (\w+)\)$/.exec(String(variable.query))!;
      const values = ((await prometheus.query(`count by (${m[2]}) (${m[1]})`)).result as { metric: Record<string, string> }[]).map((s) => s.metric[m[2]!]);
      expect(values.sort()).toEqual(['node-a', 'node-b']);
    },
  );
});
