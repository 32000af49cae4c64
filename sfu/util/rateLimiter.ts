/**
 * Allows at most `limit` events in any `windowMs` (sliding window). Time comes
 * in as an argument, so it is tested without clocks.
 */
export class RateLimiter {
  readonly #times: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Records an event at `now` if allowed; false when over the limit. */
  tryTake(now: number): boolean {
    while (this.#times.length > 0 && now - this.#times[0]! >= this.windowMs) this.#times.shift();
    if (this.#times.length >= this.limit) return false;
    this.#times.push(now);
    return true;
  }

  /** When the next event will be allowed (ms from `now`). */
  retryAfter(now: number): number {
    return this.#times.length < this.limit ? 0 : this.#times[0]! + this.windowMs - now;
  }
}
