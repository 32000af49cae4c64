// Rooms across nodes when a node of the room dies (octo.ts). After every
// heartbeat that read the live nodes (NodeRegistry.watch) this node checks the
// other ends of its rooms that span nodes:
//   - a satellite here (attached) whose owner is gone, i.e. no longer live in
//     the node registry, or whose lease is no longer the owner's:
//       * the owner is dead and still holds the lease: take it over (RoomLeases'
//         takeOver, the compare-and-set the router uses; a lapsed lease: SET NX),
//         or another node did so for us (the lease is ours): the satellite
//         leaves its owner (pipe, mirrors) and the room stays here, an ordinary
//         room the ClusterRouter renews, its people in their call, no rejoin
//         (the people the owner told of leave its roster: spanState.ts);
//       * another node holds the lease (it won the race, or the owner moved):
//         the room closes here (serverShutdown), its people rejoin and are sent
//         to that node;
//       * nobody holds it while the owner lives: the owner let the room go (its
//         roomClosed did not arrive): the room closes here too;
//   - a satellite node of a room owned here that is no longer live: its
//     attachment (stand-in, mirrors, pipe) goes at once, without waiting for
//     requests to it to time out.
// A satellite also keeps its node in chorus:span:<room> (TTL leaseMs): the
// room's heirs. A join that finds the owner dead takes the room over for a
// live heir (heir()), so the dead owner's clients are sent to the satellite
// rather than to a new room. Nothing is decided while Redis is unreachable or
// just back (ClusterRouter.settled). Started and closed by startCluster.
import type { Logger } from '../log.ts';
import type { ClusterRouter } from './clusterRouter.ts';
import type { NodeRegistry } from './nodeRegistry.ts';
import { type Octo, spanKey } from './octo.ts';
import type { NodeInfo } from './placement.ts';
import type { ClusterRedis } from './redis.ts';
import { type RoomLeases, roomKey } from './roomLeases.ts';

/** Where the watch reports what it does (the metrics module). */
export interface SpanWatchMetrics {
  /** A satellite here whose owner died: took its room over (won), or another node did (lost). */
  clusterSatelliteTakeover(result: 'won' | 'lost'): void;
  clusterRedisError(): void;
}

/** What the ClusterRouter asks when a room's owner is dead. */
export interface RoomHeirs {
  /** A live node (not draining) serving the room as a satellite: the room goes to it. */
  heir(room: string): Promise<NodeInfo | undefined>;
}

/** Rounds of compare-and-set per room and check (the lease changes under us). */
const ATTEMPTS = 3;

export class SpanWatch implements RoomHeirs {
  #checking?: Promise<void>;
  #closed = false;

  constructor(
    readonly redis: ClusterRedis,
    readonly leases: RoomLeases,
    readonly nodes: NodeRegistry,
    readonly octo: Octo,
    readonly router: ClusterRouter,
    readonly options: { leaseMs: number },
    readonly log: Logger,
    readonly metrics?: SpanWatchMetrics,
  ) {}

  start(): void {
    this.nodes.watch(() => void this.check());
  }

  async heir(room: string): Promise<NodeInfo | undefined> {
    const members = new Set(await this.redis.client.smembers(spanKey(room)));
    return this.nodes.nodes.filter((n) => members.has(n.id) && !n.draining).sort((a, b) => (a.id < b.id ? -1 : 1))[0];
  }

  /** One round of checks (one at a time). */
  check(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(): Promise<void> {
    if (!this.redis.reachable || !this.router.settled) return;
    const self = this.nodes.id;
    const live = new Set(this.nodes.nodes.map((n) => n.id));
    if (!live.has(self)) return; // no heartbeat of ours yet: the list says nothing
    for (const node of this.octo.satelliteNodes()) {
      if (live.has(node)) continue;
      this.log.warn('a satellite node of rooms here is gone: dropping its attachments', { node });
      this.octo.nodeGone(node);
    }
    const satellites = this.octo.satelliteRooms();
    if (satellites.length === 0) return;
    let leases: (string | null)[];
    try {
      // Still an heir of each room, and who holds each lease now: one round trip.
      const m = this.redis.client.multi();
      for (const { room } of satellites) m.sadd(spanKey(room), self).pexpire(spanKey(room), this.options.leaseMs);
      m.mget(satellites.map((s) => roomKey(s.room)));
      const results = (await m.exec())!;
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      leases = results.at(-1)![1] as (string | null)[];
      for (const [i, { room, owner }] of satellites.entries()) await this.#follow(room, owner, leases[i] ?? null, live.has(owner));
    } catch (err) {
      this.metrics?.clusterRedisError();
      this.log.debug('cannot check the owners of satellites here', { error: (err as Error).message });
    }
  }

  /** A satellite here of `owner`'s `room`, whose lease `lease` holds: what becomes of it (see the header). */
  async #follow(room: string, owner: string, lease: string | null, ownerLive: boolean): Promise<void> {
    const self = this.nodes.id;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (lease === self) return this.#won(room, owner);
      if (lease !== null && lease !== owner) return this.#lost(room, owner, lease);
      if (ownerLive) {
        if (lease === null) this.#ownerLetGo(room, owner);
        return;
      }
      const won = lease === owner ? await this.leases.takeOver(room, owner, self) : await this.leases.claim(room, self);
      if (won) return this.#won(room, owner);
      const now = await this.leases.owner(room);
      if (now === lease) return; // refused, nothing changed: the owner's heartbeat is back (the next round looks again)
      lease = now;
    }
  }

  #won(room: string, owner: string): void {
    if (!this.octo.leaveOwner(room)) {
      // Its people left meanwhile: the lease is of no use here.
      void this.leases.release(room, this.nodes.id).catch(() => this.metrics?.clusterRedisError());
      return;
    }
    this.router.adopt(room);
    this.metrics?.clusterSatelliteTakeover('won');
    this.log.info('the owner of a room this node is a satellite of is gone: took the room over', { room, from: owner });
  }

  #lost(room: string, owner: string, holder: string): void {
    this.metrics?.clusterSatelliteTakeover('lost');
    this.log.info('another node holds the lease of a room this node is a satellite of: closing it here (its people rejoin there)', { room, owner, holder });
    this.octo.closeSatellite(room);
  }

  #ownerLetGo(room: string, owner: string): void {
    this.log.info('the owner let go of a room this node is a satellite of: closing it here (its people rejoin)', { room, owner });
    this.octo.closeSatellite(room);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#checking;
  }
}
