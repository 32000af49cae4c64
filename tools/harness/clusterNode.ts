// Cluster nodes for tests and benchmarks: Chorus processes started as
// `npm start` is (chorusProcess.ts), on loopback, each with its own HTTP port,
// sharing a Redis, one PostgreSQL database and one auth secret; and the few
// questions asked of them (a gauge, a join's error, whether the cluster has
// formed). Each node is its process: ended by its pid (killChorusProcesses).
import { randomUUID } from 'node:crypto';
import { nodeSocket } from '../../client/node/nodePeer.ts';
import { SignalingClient } from '../../client/signaling.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { TokenService } from '../../sfu/auth/tokens.ts';
import { answering, type ChorusProcess, type ChorusProcessOptions, loopbackEnv, startChorusProcess } from './chorusProcess.ts';
import { freePort } from './freePort.ts';
import { until } from './wait.ts';

export interface ClusterNode {
  id: string;
  run: ChorusProcess;
  /** Its page and HTTP API (= its cluster.publicUrl). */
  url: string;
  wsUrl: string;
}

export interface ClusterNodeOptions extends ChorusProcessOptions {
  redisUrl: string;
  databaseUrl: string;
  /** auth.secret, the same on every node. */
  secret: string;
  /** More environment (it wins over the defaults here). */
  env?: Record<string, string>;
  /** How long it may take to answer (ms). */
  startMs?: number;
}

export async function startClusterNode(
  id: string,
  { redisUrl, databaseUrl, secret, env = {}, startMs, ...processOptions }: ClusterNodeOptions,
): Promise<ClusterNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const run = startChorusProcess(
    {
      ...loopbackEnv(port),
      DATABASE_URL: databaseUrl,
      CHORUS_REDIS_URL: redisUrl,
      CHORUS_PUBLIC_URL: url,
      CHORUS_NODE_ID: id,
      CHORUS_AUTH_SECRET: secret,
      ...env,
    },
    processOptions,
  );
  await answering(run, url, startMs);
  return { id, run, url, wsUrl: `ws://127.0.0.1:${port}/ws` };
}

/** A metric's value from a node's /metrics: its first series whose labels include `labels` (e.g. `code="WRONG_NODE"`); NaN without one. */
export async function gauge(node: ClusterNode, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const escaped = labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const series = labels ? `\\{[^}]*${escaped}[^}]*\\}` : '(?:\\{[^}]*\\})?';
  const m = new RegExp(`^${name}${series} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** A speaker's join token for `room`, signed with the cluster's secret (any node accepts it). */
export function clusterToken(secret: string, room: string, displayName = 'x'): Promise<string> {
  return new TokenService(secret).sign({ identity: randomUUID(), room, displayName, role: 'speaker' }, 3600);
}

/** The error code of a join through `node` (undefined: it joined); the socket is closed either way. */
export async function joinError(node: ClusterNode, room: string, token: string): Promise<string | undefined> {
  const c = await SignalingClient.connect(node.wsUrl, nodeSocket);
  try {
    await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token });
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  } finally {
    await c.close();
  }
}

/** Every node sees all of them in Redis and accepts new rooms. */
export async function clusterFormed(nodes: readonly ClusterNode[], secret: string): Promise<void> {
  for (const n of nodes) {
    await until(async () => (await gauge(n, 'chorus_cluster_nodes')) === nodes.length, `${n.id} to see ${nodes.length} nodes`, 20_000);
  }
  // A node that just reached Redis waits two heartbeats before it places rooms (see ClusterRouter): until then CLUSTER_UNAVAILABLE.
  for (const n of nodes) {
    const room = `probe-${n.id}`;
    await until(async () => (await joinError(n, room, await clusterToken(secret, room))) !== 'CLUSTER_UNAVAILABLE', `${n.id} to take new rooms`, 20_000);
  }
}
