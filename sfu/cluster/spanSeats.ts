// Where a joiner of a room spanning nodes sits (rooms across nodes, octo.ts),
// when the node asked has cluster.maxParticipantsPerNodePerRoom of the room's
// people already: the choice (seatFor, pure) and the Redis keys that carry it.
//
// Every node of the room decides the same way, the owner and each satellite,
// from the room's shared roster (PeopleElsewhere: the people on each node): a
// node of the room with a free seat (the owner first: every voice crosses
// through it; then the fullest satellite, so a node fills before the room
// spreads), else a new satellite on the least-loaded live node not in the
// room yet; no node left: the room grows past the cap on the node asked.
// Never a draining node.
//
// A joiner is sent on once (the client core follows one WRONG_NODE): the
// node that sends it writes the target into chorus:span:<room> (the room's
// nodes: a node in it serves the room as a satellite) and a seat for the
// joiner's identity there, chorus:seat:<room>:<node> (a set, TTL leaseMs).
// A node at its cap serves a joiner who holds a seat there (taken, once),
// however its own count looks: the roster the sender read may be a moment
// old (joins in flight), and a second redirect would fail the join. So joins
// racing within that moment may put a node a few over its cap; the room-wide
// bound (rooms.maxParticipants) is the room's own (room.ts).
import type { Redis } from 'ioredis';
import { type NodeInfo, pickNode } from './placement.ts';

export const spanKey = (room: string) => `chorus:span:${room}`;
export const seatKey = (room: string, node: string) => `chorus:seat:${room}:${node}`;

export interface SeatQuestion {
  /** The node asked, at its cap. */
  self: string;
  /** The room's owner (self on the owner). */
  owner: string;
  cap: number;
  /** The room's people on each of its nodes (self and its owner included; nodes with nobody yet too). */
  people: ReadonlyMap<string, number>;
  /** The live nodes (the registry's last heartbeat). */
  live: readonly NodeInfo[];
}

/** The node for the next joiner (see the header); undefined: it stays here, past the cap. */
export function seatFor({ self, owner, cap, people, live }: SeatQuestion): NodeInfo | undefined {
  const count = (id: string) => people.get(id) ?? 0;
  const usable = live.filter((n) => n.id !== self && !n.draining);
  const free = usable.filter((n) => people.has(n.id) && count(n.id) < cap);
  free.sort((a, b) => Number(b.id === owner) - Number(a.id === owner) || count(b.id) - count(a.id) || (a.id < b.id ? -1 : 1));
  return free[0] ?? pickNode(usable.filter((n) => !people.has(n.id)));
}

export class SpanSeats {
  constructor(
    readonly redis: Redis,
    readonly leaseMs: number,
  ) {}

  /** `identity` is sent to `node` for `room`: it serves the room there, and holds a seat. */
  async send(room: string, node: string, identity: string): Promise<void> {
    const seat = seatKey(room, node);
    const m = this.redis.multi().sadd(spanKey(room), node).pexpire(spanKey(room), this.leaseMs);
    const failed = (await m.sadd(seat, identity).pexpire(seat, this.leaseMs).exec())?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /** Whether `identity` was sent to `node` for `room` (the seat is taken: once). */
  async take(room: string, node: string, identity: string): Promise<boolean> {
    return (await this.redis.srem(seatKey(room, node), identity)) === 1;
  }
}
