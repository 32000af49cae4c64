// The front door of the WebSocket endpoint: the limits every client meets
// before its requests reach a PeerSession. Which pages may open a socket
// (Origin), how many sockets one address may hold, and how fast one client
// may send requests (a token bucket that, once joined, belongs to the
// identity, so rejoining or resuming does not refill it). Pure policy: time
// and addresses come in as arguments; wsServer.ts applies the decisions (and
// http/rateLimit.ts the same buckets, by address, to HTTP routes).
import type { IncomingMessage } from 'node:http';

export { closeCodes } from '../../protocol/messages.ts';

/** Why the front door refused or closed a socket (the metric's `reason` label). */
export type RefusalReason = 'origin' | 'addressLimit' | 'joinTimeout' | 'rateLimited' | 'rateLimitClose' | 'slowConsumer';

export interface FrontDoorOptions {
  /** Allowed page origins; empty = the request's own host only; "*" = any. */
  allowedOrigins: string[];
  /** Take the client address from X-Forwarded-For (its last entry). */
  trustProxy: boolean;
  maxSocketsPerAddress: number;
  requestsPerSecond: number;
  requestBurst: number;
}

/**
 * Whether a page at `origin` may open a socket on a request for `host` (the
 * Host header). No Origin header: not a browser (browsers always send one on
 * a WebSocket upgrade), so no cross-site page is involved; allowed.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[]): boolean {
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and garbage
  }
  if (allowed.length === 0) return host !== undefined && url.host === host.toLowerCase();
  return allowed.some((a) => a.toLowerCase().replace(/\/$/, '') === url.origin);
}

/** The client's address: the TCP peer, or behind a trusted proxy the last X-Forwarded-For entry. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const last = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean).at(-1);
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * A token bucket: `burst` requests at once, refilled at `rate` per second.
 * A refused request still costs a token, so the balance goes negative while a
 * client keeps pushing; at -burst it has gone on past the hard limit.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes one token: `ok`, `limited` (answer RATE_LIMITED), or `close` (past the hard limit). */
  take(now: number): 'ok' | 'limited' | 'close' {
    this.#refill(now);
    this.#tokens = Math.max(this.#tokens - 1, -this.burst);
    if (this.#tokens >= 0) return 'ok';
    return this.#tokens <= -this.burst ? 'close' : 'limited';
  }

  /** Tokens now (negative: owed). */
  balance(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** The lower of both balances (two sockets of one identity share the stricter). */
  absorb(other: TokenBucket, now: number): void {
    this.#refill(now);
    this.#tokens = Math.min(this.#tokens, other.balance(now));
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
  }
}

/**
 * Buckets by key: by identity, so that a participant's limit outlives its
 * socket (a rejoin or a resume gets the bucket its identity left), or by client
 * address (HTTP routes). An entry is kept until it would have refilled
 * completely (plus a minute), then forgotten: the map holds only keys active
 * recently.
 */
export class KeyedBuckets {
  readonly #buckets = new Map<string, { bucket: TokenBucket; lastUsed: number }>();

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  /** The identity's bucket; a socket's own bucket (what it spent before joining) is folded in. */
  claim(identity: string, own: TokenBucket, now: number): TokenBucket {
    let entry = this.#buckets.get(identity);
    if (!entry) {
      entry = { bucket: own, lastUsed: now };
      this.#buckets.set(identity, entry);
    } else if (entry.bucket !== own) {
      entry.bucket.absorb(own, now);
    }
    entry.lastUsed = now;
    return entry.bucket;
  }

  /** The key's bucket (a full one for a key not seen recently). */
  get(key: string, now: number): TokenBucket {
    let entry = this.#buckets.get(key);
    if (!entry) this.#buckets.set(key, (entry = { bucket: new TokenBucket(this.rate, this.burst, now), lastUsed: now }));
    entry.lastUsed = now;
    return entry.bucket;
  }

  touch(identity: string, now: number): void {
    const entry = this.#buckets.get(identity);
    if (entry) entry.lastUsed = now;
  }

  /** Forgets identities idle long enough to be full again. */
  sweep(now: number): void {
    const keepMs = (2 * this.burst * 1000) / this.rate + 60_000;
    for (const [identity, entry] of this.#buckets) if (now - entry.lastUsed > keepMs) this.#buckets.delete(identity);
  }

  get size(): number {
    return this.#buckets.size;
  }
}

/** Open sockets per client address, counted from the upgrade until the TCP connection closes. */
export class AddressCounter {
  readonly #open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts one more socket for `address`, or false when it holds `max` already. */
  tryOpen(address: string): boolean {
    const n = this.#open.get(address) ?? 0;
    if (n >= this.max) return false;
    this.#open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.#open.get(address) ?? 1) - 1;
    if (n <= 0) this.#open.delete(address);
    else this.#open.set(address, n);
  }

  count(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
