// Cluster nodes for tests: started and asked as the benchmarks do
// (tools/harness/clusterNode.ts), plus what only tests ask of them.
import type { ClusterNode } from '../../tools/harness/clusterNode.ts';

export * from '../../tools/harness/clusterNode.ts';

export interface AdminParticipant {
  id: string;
  displayName: string;
  role: string;
  muted: boolean;
}

/** The room as the node's admin API shows it (undefined: not open there). */
export async function adminRoom(node: ClusterNode, room: string, adminSecret: string): Promise<{ participants: AdminParticipant[] } | undefined> {
  const res = await fetch(`${node.url}/admin/rooms/${room}`, { headers: { authorization: `Bearer ${adminSecret}` } });
  return res.status === 200 ? ((await res.json()) as { participants: AdminParticipant[] }) : undefined;
}
