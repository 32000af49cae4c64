// A node as its heartbeat describes it (sfu/cluster/placement.ts), for unit
// tests of the choices made from the live nodes: idle, not draining, unless `over` says otherwise.
import type { NodeInfo } from '../../sfu/cluster/placement.ts';

export const nodeInfo = (id: string, over: Partial<NodeInfo> = {}): NodeInfo => ({
  id,
  url: `ws://${id}:3000/ws`,
  publicUrl: `http://${id}:3000`,
  draining: false,
  participants: 0,
  rooms: 0,
  workerCpu: [0.1, 0.1],
  at: 0,
  ...over,
});
