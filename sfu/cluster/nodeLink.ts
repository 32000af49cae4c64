// Node-to-node requests over Redis pub/sub (rooms across nodes, octo.ts).
// Each node subscribes to its own channel, chorus:link:<node id>, on a second
// Redis connection (a subscribed connection runs no other command); a request
// is published to the other node's channel with an id, its answer to ours
// with that id. Redis already connects and authenticates every node, so this
// needs no port, address or secret of its own; a request whose answer does
// not come within REQUEST_TIMEOUT_MS (the other node died, Redis is down: pub/sub
// does not queue for an absent subscriber) fails, and the caller gives up
// what it was setting up. Messages are JSON, checked on arrival; a request of
// a type nobody handles is logged and answered with an error. A handler's
// ChorusError comes back to the asker as a ChorusError with its code (a
// moderator's NOT_FOUND on another node is theirs).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { errorCodes } from '../../protocol/messages.ts';
import type { ClusterRedis } from './redis.ts';

const REQUEST_TIMEOUT_MS = 5_000;

export const linkChannel = (node: string) => `chorus:link:${node}`;

const message = z.union([
  z.strictObject({ id: z.string(), from: z.string(), type: z.string(), body: z.unknown() }),
  z.strictObject({ re: z.string(), ok: z.boolean(), body: z.unknown().optional(), error: z.string().optional(), code: z.enum(errorCodes).optional() }),
]);

/** Answers a request of one type: the body it was sent, the node that sent it; its result goes back. */
export type LinkHandler = (body: unknown, from: string) => Promise<unknown>;

export class NodeLink {
  readonly #sub: Redis;
  readonly #handlers = new Map<string, LinkHandler>();
  readonly #pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #closed = false;

  constructor(
    readonly redis: ClusterRedis,
    readonly nodeId: string,
    readonly log: Logger,
  ) {
    // Its own connection; subscribes once connected, and again after every reconnect (ioredis does).
    this.#sub = redis.client.duplicate({ enableOfflineQueue: true, lazyConnect: false });
    this.#sub.on('error', (err) => log.debug('node link: Redis error', { error: err }));
    this.#sub.on('message', (_channel, raw) => this.#receive(raw));
    this.#sub.subscribe(linkChannel(nodeId)).catch((err: Error) => log.warn('node link: cannot subscribe', { error: err.message }));
  }

  /** Handles requests of `type` from other nodes. */
  handle(type: string, handler: LinkHandler): void {
    this.#handlers.set(type, handler);
  }

  /** Asks `node`; resolves with its answer, rejects with its error or after a timeout. */
  request(node: string, type: string, body: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('the node link is closed'));
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`node ${node} did not answer ${type}`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.redis.client.publish(linkChannel(node), JSON.stringify({ id, from: this.nodeId, type, body })).catch((err: Error) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err);
      });
    });
  }

  /** A request whose answer nobody waits for (failures are logged). */
  tell(node: string, type: string, body: unknown): void {
    this.request(node, type, body).catch((err: Error) => this.log.debug('node link: not delivered', { node, type, error: err.message }));
  }

  #receive(raw: string): void {
    let m: z.infer<typeof message>;
    try {
      m = message.parse(JSON.parse(raw));
    } catch {
      this.log.warn('node link: malformed message dropped');
      return;
    }
    if ('re' in m) {
      const pending = this.#pending.get(m.re);
      if (!pending) return; // timed out meanwhile
      this.#pending.delete(m.re);
      clearTimeout(pending.timer);
      if (m.ok) pending.resolve(m.body);
      else pending.reject(m.code ? new ChorusError(m.code, m.error ?? m.code) : new Error(m.error ?? 'failed'));
      return;
    }
    const { id, from, type, body } = m;
    const handler = this.#handlers.get(type);
    const answer = (reply: object) =>
      this.redis.client.publish(linkChannel(from), JSON.stringify({ re: id, ...reply })).catch(() => {});
    if (!handler) {
      this.log.warn('node link: unknown request dropped', { type: type.slice(0, 64), from: from.slice(0, 64) });
      return void answer({ ok: false, error: `unknown request ${type}` });
    }
    handler(body, from).then(
      (result) => answer({ ok: true, body: result ?? null }),
      (err: Error) => answer({ ok: false, error: err.message, ...(err instanceof ChorusError ? { code: err.code } : {}) }),
    );
  }

  /** Fails what waits for an answer and leaves the channel. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new Error('the node link is closed'));
    }
    this.#pending.clear();
    await this.#sub.quit().catch(() => this.#sub.disconnect());
  }
}
