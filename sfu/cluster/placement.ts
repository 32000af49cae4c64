// Where a new room goes: the least-loaded live node that is not draining.
// Pure, so the rule is unit-tested on its own.

/** A node as its heartbeat describes it (the JSON value of its key in Redis). */
export interface NodeInfo {
  id: string;
  /** The signaling URL browsers and the client core use: ws(s)://host[:port]/ws. */
  url: string;
  /** The address browsers open pages at (cluster.publicUrl): its origin may open sockets on every node. */
  publicUrl: string;
  /** Draining (SIGTERM): it takes no new rooms. */
  draining: boolean;
  participants: number;
  rooms: number;
  /** Fraction of one core each mediasoup worker used over the last heartbeat interval. */
  workerCpu: number[];
  /** When the heartbeat was written (ms since the epoch). */
  at: number;
}

/** A node all of whose workers are this busy is picked only when every node is. */
export const BUSY_CPU = 0.85;

const busy = (n: NodeInfo) => n.workerCpu.length > 0 && n.workerCpu.every((c) => c >= BUSY_CPU);

/**
 * The node for a new room, among `nodes` (the live ones): never a draining
 * one, nor `exclude`; then not busy before busy, fewest participants, fewest
 * rooms; on a tie `prefer` (the node asking: the joiner needs no redirect),
 * then the node id. Two nodes asked at once may so pick themselves both:
 * the room lease (SET NX) decides, and the loser redirects to the winner.
 */
export function pickNode(nodes: readonly NodeInfo[], { exclude, prefer }: { exclude?: string; prefer?: string } = {}): NodeInfo | undefined {
  const eligible = nodes.filter((n) => !n.draining && n.id !== exclude);
  eligible.sort(
    (a, b) =>
      Number(busy(a)) - Number(busy(b)) ||
      a.participants - b.participants ||
      a.rooms - b.rooms ||
      Number(b.id === prefer) - Number(a.id === prefer) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return eligible[0];
}

/**
 * The nodes as this node's own recent placements leave them: a room placed on
 * a node (by us) after that node's last heartbeat, and within `windowMs`, counts
 * as one more room and one more participant (its first joiner) there. Without
 * it, rooms placed faster than heartbeats go out all see the same stale loads
 * and pile onto one node (measured: 7 of 8 rooms on one node in a 5 joins/s
 * ramp, bench:cluster). `placedAt`: node id → when we placed rooms there (ms,
 * this node's clock); `now` and `windowMs` bound what counts (clocks of two
 * hosts differ a little: the window keeps a skew from counting for long).
 */
export function withRecentPlacements(nodes: readonly NodeInfo[], placedAt: ReadonlyMap<string, readonly number[]>, now: number, windowMs: number): NodeInfo[] {
  return nodes.map((n) => {
    const unseen = (placedAt.get(n.id) ?? []).filter((at) => at > n.at && at > now - windowMs).length;
    return unseen ? { ...n, rooms: n.rooms + unseen, participants: n.participants + unseen } : n;
  });
}
