// A room's raised hands: who asked to speak, in the order they asked. Pure (time
// comes in as an argument), so the order and the limits are unit-tested.
//
// Bounded: one hand per participant (raising it twice, or lowering a hand that
// is down, is INVALID_STATE), and a participant may raise or lower their own
// hand at most `rateLimit` times per `rateWindowMs` (RATE_LIMITED), so nobody
// can flood the room with raisedHands notifications. A moderator lowering
// someone's hand is not counted against that person.
import { ChorusError } from '../errors.ts';
import type { RaisedHand } from '../../protocol/messages.ts';
import { RateLimiter } from '../util/rateLimiter.ts';

export interface RaisedHandsOptions {
  /** Own raises and lowers allowed per participant in `rateWindowMs`. */
  rateLimit: number;
  rateWindowMs: number;
}

export class RaisedHands {
  /** Participant id → when the hand went up (ms); a Map keeps raising order. */
  readonly #raised = new Map<string, number>();
  readonly #limiters = new Map<string, RateLimiter>();

  constructor(readonly options: RaisedHandsOptions = { rateLimit: 10, rateWindowMs: 10_000 }) {}

  /** The raised hands, first raised first. */
  list(): RaisedHand[] {
    return [...this.#raised].map(([participantId, at]) => ({ participantId, at: new Date(at).toISOString() }));
  }

  isRaised(participantId: string): boolean {
    return this.#raised.has(participantId);
  }

  /** `participantId` raises their hand; it goes to the end of the queue. */
  raise(participantId: string, now: number): void {
    if (this.#raised.has(participantId)) throw new ChorusError('INVALID_STATE', 'your hand is already raised');
    this.#take(participantId, now);
    this.#raised.set(participantId, now);
  }

  /** Lowers `participantId`'s hand: their own doing (rate-limited), or a moderator's (`byOther`). */
  lower(participantId: string, now: number, { byOther = false } = {}): void {
    if (!this.#raised.has(participantId)) {
      throw new ChorusError('INVALID_STATE', byOther ? 'that hand is not raised' : 'your hand is not raised');
    }
    if (!byOther) this.#take(participantId, now);
    this.#raised.delete(participantId);
  }

  /** The participant left: their hand (if any) goes, and their limit. Returns whether a hand went. */
  forget(participantId: string): boolean {
    this.#limiters.delete(participantId);
    return this.#raised.delete(participantId);
  }

  #take(participantId: string, now: number): void {
    let limiter = this.#limiters.get(participantId);
    if (!limiter) this.#limiters.set(participantId, (limiter = new RateLimiter(this.options.rateLimit, this.options.rateWindowMs)));
    if (!limiter.tryTake(now)) {
      throw new ChorusError('RATE_LIMITED', `too many raised and lowered hands: wait ${Math.ceil(limiter.retryAfter(now) / 1000)} s`);
    }
  }
}
