// Cluster nodes for tests: started and asked as the benchmarks do
// (tools/harness/clusterNode.ts), plus what only tests ask of them (the admin
// API's view of a room, Node clients' tokens, whether the nodes are idle) and
// a test's end (its peers, nodes, Redis and database gone).
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { JoinTarget, NodePeer } from '../../client/node/nodePeer.ts';
import { TokenService } from '../../sfu/auth/tokens.ts';
import { nodeKey } from '../../sfu/cluster/nodeRegistry.ts';
import type { NodeInfo } from '../../sfu/cluster/placement.ts';
import type { ClusterNode } from '../../tools/harness/clusterNode.ts';
import { killChorusProcesses } from './chorusProcess.ts';
import type { TestRedis } from './redis.ts';
import { until } from './wait.ts';

export * from '../../tools/harness/clusterNode.ts';

export interface AdminParticipant {
  id: string;
  displayName: string;
  role: string;
  muted: boolean;
}

/** A room as a node's admin API shows it: its people there, and (a room spanning nodes) those on other nodes. */
export interface AdminRoom {
  participants: (AdminParticipant & { identity: string })[];
  elsewhere: (AdminParticipant & { identity: string; node: string })[];
}

/** The room as the node's admin API shows it (undefined: not open there). */
export async function adminRoom(node: ClusterNode, room: string, adminSecret: string): Promise<AdminRoom | undefined> {
  const res = await fetch(`${node.url}/admin/rooms/${room}`, { headers: { authorization: `Bearer ${adminSecret}` } });
  return res.status === 200 ? ((await res.json()) as AdminRoom) : undefined;
}

/**
 * Node clients joining through `node`: tokens signed with the cluster's secret, for
 * `identity` (every token of this target: a second session of one person), else a new one each.
 */
export function clusterTarget(node: ClusterNode, secret: string, identity?: string): JoinTarget {
  const tokens = new TokenService(secret);
  return {
    wsUrl: node.wsUrl,
    token: (room, displayName, role = 'speaker', given = identity ?? randomUUID()) => tokens.sign({ identity: given, room, displayName, role }, 3600),
  };
}

/**
 * The nodes hold no room and each has read the others' heartbeats saying so:
 * placement then sees a tie, broken for the asking node, then by node id.
 */
export async function idleNodes(redisUrl: string, nodes: readonly ClusterNode[]): Promise<void> {
  const r = new Redis(redisUrl);
  try {
    const info = async () => (await r.mget(nodes.map((n) => nodeKey(n.id)))).map((v) => (v ? (JSON.parse(v) as NodeInfo) : undefined));
    await until(async () => (await info()).every((n) => n?.rooms === 0), 'every node to hold no room', 20_000);
    const t = Date.now();
    await until(async () => (await info()).every((n) => n!.at > t), 'a heartbeat of every node after that', 20_000);
  } finally {
    await r.quit();
  }
}

/**
 * A cluster test's end: its peers leave, its nodes are ended by pid (each
 * node's log written to $SPAN_LOGS/<id>.log first, when set), then its Redis,
 * database and config folder go. Whatever the set-up did not get to is skipped.
 */
export async function endCluster(t: {
  peers: readonly NodePeer[];
  nodes: readonly ClusterNode[];
  redis?: TestRedis;
  database?: { drop(): Promise<void> };
  configDir?: string;
}): Promise<void> {
  await Promise.allSettled(t.peers.map((p) => p.close()));
  if (process.env.SPAN_LOGS) for (const n of t.nodes) fs.writeFileSync(`${process.env.SPAN_LOGS}/${n.id}.log`, n.run.output());
  killChorusProcesses();
  await Promise.allSettled(t.nodes.map((n) => n.run.exited));
  await t.redis?.close();
  await t.database?.drop();
  if (t.configDir) fs.rmSync(t.configDir, { recursive: true, force: true });
}
