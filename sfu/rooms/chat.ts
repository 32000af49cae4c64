// Room chat on the signaling WebSocket (not SCTP data channels): messages pass
// through the server, which checks their size and rate and keeps the last few
// for people who join later. See docs/protocol.md for why.
import { randomUUID } from 'node:crypto';
import { ChorusError } from '../errors.ts';
import type { ChatMessage } from '../../protocol/messages.ts';
import { RateLimiter } from '../util/rateLimiter.ts';
import type { Participant } from './participant.ts';

export interface ChatOptions {
  /** Messages kept for late joiners. */
  historySize: number;
  /** Per participant: at most `rateLimit` messages in `rateWindowMs`. */
  rateLimit: number;
  rateWindowMs: number;
}

export class RoomChat {
  readonly #history: ChatMessage[] = [];
  readonly #limiters = new WeakMap<Participant, RateLimiter>();

  constructor(readonly options: ChatOptions) {}

  get history(): readonly ChatMessage[] {
    return this.#history;
  }

  /** Accepts `text` from `from`, or throws RATE_LIMITED; returns the message to broadcast. */
  post(from: Participant, text: string, now = Date.now()): ChatMessage {
    let limiter = this.#limiters.get(from);
    if (!limiter) this.#limiters.set(from, (limiter = new RateLimiter(this.options.rateLimit, this.options.rateWindowMs)));
    if (!limiter.tryTake(now)) {
      const wait = Math.ceil(limiter.retryAfter(now) / 1000);
      throw new ChorusError('RATE_LIMITED', `too many messages: wait ${wait} s`);
    }
    const message: ChatMessage = {
      id: randomUUID(),
      participantId: from.id,
      displayName: from.displayName,
      text,
      at: new Date(now).toISOString(),
    };
    this.#history.push(message);
    if (this.#history.length > this.options.historySize) this.#history.shift();
    return message;
  }
}
