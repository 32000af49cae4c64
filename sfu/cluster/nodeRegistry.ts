// The node registry in Redis: every node writes its heartbeat, a key with a TTL
// (chorus:node:<id>, JSON NodeInfo: its URLs, load, draining flag), every
// cluster.heartbeatMs, and reads everyone's. A node whose key expired (it died,
// or lost Redis for longer than nodeTtlMs) is not live: it gets no new room and
// its rooms may be taken over. The set chorus:nodes lists the ids to read;
// ids whose key is gone are removed from it as they are found. Watchers hear
// the live list after every heartbeat that read it.
import type { Logger } from '../log.ts';
import type { NodeInfo } from './placement.ts';
import type { ClusterRedis } from './redis.ts';

export const NODES_KEY = 'chorus:nodes';
export const nodeKey = (id: string) => `chorus:node:${id}`;

/** What the heartbeat reports of this node's load. */
export interface NodeLoad {
  participants: number;
  rooms: number;
  workerCpu: number[];
}

export interface NodeRegistryOptions {
  id: string;
  /** Signaling URL (ws(s)://…/ws) and page address (cluster.publicUrl). */
  url: string;
  publicUrl: string;
  heartbeatMs: number;
  nodeTtlMs: number;
}

export class NodeRegistry {
  #timer?: NodeJS.Timeout;
  #draining = false;
  #nodes: NodeInfo[] = [];
  /** Whether the last heartbeat reached Redis. */
  #up = false;
  #beating?: Promise<void>;
  readonly #watchers = new Set<(nodes: readonly NodeInfo[]) => void>();

  constructor(
    readonly redis: ClusterRedis,
    readonly options: NodeRegistryOptions,
    readonly load: () => Promise<NodeLoad>,
    readonly log: Logger,
    readonly onError: () => void,
  ) {}

  get id(): string {
    return this.options.id;
  }

  /** The live nodes as of the last heartbeat (this one included while it is up). */
  get nodes(): readonly NodeInfo[] {
    return this.#nodes;
  }

  /** This node's heartbeat is in Redis (the last write succeeded). */
  get up(): boolean {
    return this.#up;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Calls `watcher` with the live nodes after every heartbeat that read them. */
  watch(watcher: (nodes: readonly NodeInfo[]) => void): void {
    this.#watchers.add(watcher);
  }

  start(): void {
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.#timer.unref();
  }

  /** Writes this node's heartbeat and reads everyone's (one at a time: a slow Redis does not pile them up). */
  beat(): Promise<void> {
    this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    return this.#beating;
  }

  async #beat(): Promise<void> {
    if (!this.redis.reachable) {
      this.#up = false;
      return;
    }
    try {
      const { id, url, publicUrl, nodeTtlMs } = { ...this.options };
      const info: NodeInfo = { id, url, publicUrl, draining: this.#draining, ...(await this.load()), at: Date.now() };
      const r = this.redis.client;
      const [, , members] = (await r
        .multi()
        .set(nodeKey(id), JSON.stringify(info), 'PX', nodeTtlMs)
        .sadd(NODES_KEY, id)
        .smembers(NODES_KEY)
        .exec())!.map(([err, value]) => {
        if (err) throw err;
        return value;
      }) as [unknown, unknown, string[]];
      const values = members.length ? await r.mget(members.map(nodeKey)) : [];
      const nodes: NodeInfo[] = [];
      const gone: string[] = [];
      members.forEach((m, i) => {
        const v = values[i];
        if (v) nodes.push(JSON.parse(v) as NodeInfo);
        else gone.push(m);
      });
      if (gone.length) await r.srem(NODES_KEY, ...gone);
      this.#nodes = nodes;
      this.#up = true;
      for (const watcher of this.#watchers) {
        try {
          watcher(nodes);
        } catch (err) {
          this.log.warn('a node list watcher failed', { error: err as Error });
        }
      }
    } catch (err) {
      this.#up = false;
      this.onError();
      this.log.debug('heartbeat failed', { error: err as Error });
    }
  }

  /** A node's current heartbeat straight from Redis (undefined: not live). Throws when Redis is unreachable. */
  async node(id: string): Promise<NodeInfo | undefined> {
    const v = await this.redis.client.get(nodeKey(id));
    return v ? (JSON.parse(v) as NodeInfo) : undefined;
  }

  /** SIGTERM: say at once that we take no new rooms. */
  async setDraining(): Promise<void> {
    this.#draining = true;
    await this.#beating;
    await this.beat();
  }

  /** Stops the heartbeat and removes this node from Redis (others see it gone at once). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    if (!this.redis.reachable) return;
    await this.redis.client
      .multi()
      .del(nodeKey(this.id))
      .srem(NODES_KEY, this.id)
      .exec()
      .catch((err: Error) => this.log.debug('could not remove this node from Redis', { error: err }));
  }
}
