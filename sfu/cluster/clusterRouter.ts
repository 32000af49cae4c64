// Routing joins in a cluster (the RoomRouter of cluster mode). A room lives on
// the node that owns its lease (roomLeases.ts); a join for a room:
//   - open here: served here, without asking Redis (so joins to our rooms go on
//     while Redis is unreachable);
//   - owned by this node (placed here by another node): opened here;
//   - owned by a live node: WRONG_NODE with that node's URL;
//   - owned by a node without heartbeat (dead): taken over, atomically, for a
//     live satellite of the room (spanWatch.ts: its people keep their call),
//     else for the node placement picks;
//   - owned by nobody: placed (pickNode) on the least-loaded live node that is
//     not draining, by SET NX for that node, and served here or redirected.
// With Redis unreachable, a room not open here is refused: CLUSTER_UNAVAILABLE.
// Every heartbeat the leases of the rooms open here are renewed; a room whose
// lease another node holds now (we were cut off from Redis, and it took over)
// is closed here (serverShutdown): its clients rejoin, and are sent to the owner.
// Rooms across nodes (octo.ts, when `span` is set): a room open here at its
// per-node cap (as owner or satellite) sends the joiner to another node of
// the room, or a new one; a node a joiner was sent to serves the room as a
// satellite (no lease of its own).
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { WrongNodeData } from '../../protocol/messages.ts';
import type { NodeRegistry } from './nodeRegistry.ts';
import { type NodeInfo, pickNode, withRecentPlacements } from './placement.ts';
import type { ClusterRedis } from './redis.ts';
import type { RoomSpanning } from './octo.ts';
import type { RoomLeases } from './roomLeases.ts';
import type { RoomRouter } from './roomRouter.ts';
import type { RoomHeirs } from './spanWatch.ts';

/** Where the router reports what it does (the metrics module). */
export interface ClusterRouterMetrics {
  /** A new room placed here or on another node, or a dead node's room taken over. */
  clusterPlacement(where: 'here' | 'elsewhere' | 'takeover'): void;
  clusterRedisError(): void;
  clusterLeaseLost(): void;
}

/** Attempts when the owner changes under us (a lease lapses, a race is lost). */
const ATTEMPTS = 4;

const unavailable = () =>
  new ChorusError('CLUSTER_UNAVAILABLE', 'the cluster store (Redis) is unreachable: new rooms cannot be opened now, try again shortly');

export class ClusterRouter implements RoomRouter {
  /** Rooms this node owns (open here, or claimed and opening), and when each was claimed. */
  readonly #held = new Map<string, number>();
  #timer?: NodeJS.Timeout;
  #renewing?: Promise<void>;
  /** When Redis last became ready (0: never yet). */
  #readySince = 0;
  /** When this node placed rooms on each node (by id), until their heartbeats show them (placement.ts). */
  readonly #placedAt = new Map<string, number[]>();
  /** Rooms across nodes (cluster.maxParticipantsPerNodePerRoom), set by startCluster. */
  span?: RoomSpanning;
  /** Satellites that inherit a room whose owner died (spanWatch.ts), set by startCluster. */
  heirs?: RoomHeirs;

  constructor(
    readonly redis: ClusterRedis,
    readonly leases: RoomLeases,
    readonly nodes: NodeRegistry,
    readonly rooms: RoomRegistry,
    readonly options: { heartbeatMs: number; leaseMs: number },
    readonly log: Logger,
    readonly metrics?: ClusterRouterMetrics,
  ) {}

  get nodeId(): string {
    return this.nodes.id;
  }

  /** Rooms this node holds a lease for. */
  get ownedRooms(): number {
    return this.#held.size;
  }

  start(): void {
    this.rooms.on('roomClosed', (room) => {
      if (this.rooms.rooms.has(room.name)) return; // a newer opening of it is ours too
      this.#held.delete(room.name);
      if (this.redis.reachable) this.leases.release(room.name, this.nodeId).catch(() => this.metrics?.clusterRedisError());
    });
    // Back after an outage (perhaps empty): take our leases back at once.
    this.redis.client.on('ready', () => {
      this.#readySince = Date.now();
      void this.renew();
    });
    this.#timer = setInterval(() => void this.renew(), this.options.heartbeatMs);
    this.#timer.unref();
  }

  /**
   * Right after Redis came back (it may have restarted empty) every owner
   * needs a heartbeat to write its node key and take its leases back; until
   * then nobody places or takes over a room, or two nodes could open one.
   */
  #settle(): void {
    if (!this.settled) throw new ChorusError('CLUSTER_UNAVAILABLE', 'the cluster store (Redis) just came back: try again in a moment');
  }

  /** Not just after Redis came back (see #settle): rooms may be placed and taken over. */
  get settled(): boolean {
    return Date.now() - this.#readySince >= 2 * this.options.heartbeatMs;
  }

  nodeUrls(): string[] {
    return this.nodes.nodes.map((n) => n.url);
  }

  async route(room: string, identity: string): Promise<void> {
    if (this.rooms.rooms.has(room)) return this.#overflow(room, identity);
    if (!this.redis.reachable) throw unavailable();
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const owner = await this.leases.owner(room);
        if (owner === this.nodeId) {
          if (!this.nodes.draining) return this.#hold(room);
          await this.leases.release(room, this.nodeId); // placed here as we started draining: place it again
          continue;
        }
        if (owner) {
          const node = await this.nodes.node(owner);
          if (node && (await this.span?.joinAsSatellite(room, owner))) return;
          if (node) throw this.#wrongNode(node);
          this.#settle();
          const target = (await this.heirs?.heir(room)) ?? this.#pick();
          if (await this.leases.takeOver(room, owner, target.id)) {
            this.#placed(target);
            this.log.info('took over a room of a dead node', { room, from: owner, to: target.id });
            this.metrics?.clusterPlacement('takeover');
            if (target.id === this.nodeId) return this.#hold(room);
            throw this.#wrongNode(target);
          }
          continue;
        }
        this.#settle();
        const target = this.#pick();
        if (await this.leases.claim(room, target.id)) {
          this.#placed(target);
          this.metrics?.clusterPlacement(target.id === this.nodeId ? 'here' : 'elsewhere');
          if (target.id === this.nodeId) return this.#hold(room);
          throw this.#wrongNode(target);
        }
        this.log.debug('a racing join placed the room first', { room, tried: target.id });
      }
    } catch (err) {
      if (err instanceof ChorusError) throw err;
      this.metrics?.clusterRedisError();
      this.log.warn('cannot route a join: Redis failed', { room, error: (err as Error).message });
      throw unavailable();
    }
    throw new ChorusError('SERVER_BUSY', 'the room changed hands too often: try again');
  }

  /** A room open here: served here, unless it is at its per-node cap and another node of it (or a new one) can take the joiner. */
  async #overflow(room: string, identity: string): Promise<void> {
    if (!this.span || !this.redis.reachable) return;
    let target: NodeInfo | undefined;
    try {
      target = await this.span.overflow(room, identity);
    } catch (err) {
      this.metrics?.clusterRedisError();
      this.log.debug('cannot send a joiner to a satellite: served here', { room, error: (err as Error).message });
    }
    if (target) throw this.#wrongNode(target);
  }

  /** The node for a new room (never this one while it drains), counting the rooms we placed that heartbeats do not show yet. */
  #pick(): NodeInfo {
    const self = this.nodeId;
    const nodes = withRecentPlacements(this.nodes.nodes, this.#placedAt, Date.now(), this.#placementWindowMs);
    const target = pickNode(nodes, this.nodes.draining ? { exclude: self } : { prefer: self });
    if (!target) throw new ChorusError('SERVER_BUSY', 'no node can take a new room now: try again shortly');
    return target;
  }

  /** Two heartbeats: by then the node's heartbeat counts the room and its first joiner. */
  get #placementWindowMs(): number {
    return 2 * this.options.heartbeatMs;
  }

  #placed(node: NodeInfo): void {
    const now = Date.now();
    const recent = (this.#placedAt.get(node.id) ?? []).filter((at) => at > now - this.#placementWindowMs);
    recent.push(now);
    this.#placedAt.set(node.id, recent);
  }

  #hold(room: string): void {
    this.#held.set(room, Date.now());
  }

  /** A room open here whose lease this node took (a satellite whose owner died): renewed from now on. */
  adopt(room: string): void {
    this.#hold(room);
  }

  #wrongNode(node: NodeInfo): ChorusError {
    const data: WrongNodeData = { nodeId: node.id, url: node.url };
    return new ChorusError('WRONG_NODE', `this room is on node ${node.id}: join at ${node.url}`, data);
  }

  /** Renews the leases of the rooms open or claimed here (one at a time). */
  renew(): Promise<void> {
    this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renew(): Promise<void> {
    const now = Date.now();
    // A claim whose room never opened (its join failed) lapses: forget it.
    for (const [name, at] of this.#held) {
      if (!this.rooms.rooms.has(name) && now - at > this.options.leaseMs) this.#held.delete(name);
    }
    // A satellite's room is the owner's lease, not ours.
    const names = [...new Set([...this.#held.keys(), ...this.rooms.rooms.keys()])].filter((n) => !this.span?.isSatellite(n));
    if (names.length === 0 || !this.redis.reachable) return;
    let results;
    try {
      results = await this.leases.renew(names, this.nodeId);
    } catch (err) {
      this.metrics?.clusterRedisError();
      this.log.debug('lease renewal failed', { error: err as Error });
      return;
    }
    results.forEach((result, i) => {
      const name = names[i]!;
      if (result === 'retaken') this.log.info('room lease lapsed (Redis restarted?): taken back', { room: name });
      if (result !== 'lost') return void (this.#held.has(name) || this.#hold(name));
      this.#held.delete(name);
      this.metrics?.clusterLeaseLost();
      const open = this.rooms.rooms.get(name);
      this.log.warn('another node owns a room open here now: closing it (its clients rejoin there)', { room: name });
      open?.close('serverShutdown');
    });
  }

  /** Stops renewing and gives up the leases still held (normally none: drain closed the rooms). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    const held = [...this.#held.keys()];
    this.#held.clear();
    if (!this.redis.reachable) return;
    await Promise.all(held.map((room) => this.leases.release(room, this.nodeId).catch(() => {})));
  }
}
