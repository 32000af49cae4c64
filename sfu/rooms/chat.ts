// Room chat on the signaling WebSocket (not SCTP data channels): messages pass
// through the server, which checks their size and rate and keeps the last few
// for people who join later. See docs/protocol.md for why. In a room spanning
// nodes the messages posted elsewhere (checked on their node) join the history
// too, in the order they were posted, so that every node keeps the same.
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
    this.#keep(message);
    return message;
  }

  /** A message posted on another node: kept in posting order (by time, then id); false if it is known or too old to keep. */
  add(message: ChatMessage): boolean {
    if (this.#history.some((m) => m.id === message.id)) return false;
    return this.#keep(message);
  }

  #keep(message: ChatMessage): boolean {
    const h = this.#history;
    let i = h.length;
    while (i > 0 && (h[i - 1]!.at > message.at || (h[i - 1]!.at === message.at && h[i - 1]!.id > message.id))) i--;
    if (i === 0 && h.length >= this.options.historySize) return false;
    h.splice(i, 0, message);
    if (h.length > this.options.historySize) h.shift();
    return true;
  }
}
