// A room's selective forwarding: ranks the speakers and finds the idle
// producers (forwardingPolicy.ts) and makes every listener's consumers match,
// by pause/resume of consumers created paused for every other producer (no
// renegotiation: a switch costs one worker request). Owned by its Room;
// `close()` stops its timer.
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { SerialQueue } from '../util/serialQueue.ts';
import {
  type ForwardingState,
  type ProducerInfo,
  type SpeakerActivityTracker,
  decideForwarding,
  planConsumers,
  selectForListener,
} from './forwardingPolicy.ts';
import type { Participant } from './participant.ts';

export interface ForwarderContext {
  readonly name: string;
  readonly router: types.Router;
  readonly participants: ReadonlyMap<string, Participant>;
  readonly activity: SpeakerActivityTracker;
  readonly holdMs: number;
  readonly log: Logger;
}

export class Forwarder {
  // Per listener, consumer creation runs in order (a producer is never consumed
  // twice) and so do forwarding updates, in a queue of their own: a speaker's
  // consumer resumes once the client is ready, not after all the others exist.
  readonly #createQueues = new WeakMap<Participant, SerialQueue>();
  readonly #applyQueues = new WeakMap<Participant, SerialQueue>();
  /** Listeners with a forwarding update queued (updates coalesce). */
  readonly #applyPending = new WeakSet<Participant>();
  #k: number;
  #state: ForwardingState = { ranking: [], idle: [] };
  #stateKey = '';
  #holdTimer?: NodeJS.Timeout;
  #closed = false;

  constructor(
    readonly room: ForwarderContext,
    k: number,
  ) {
    this.#k = k;
  }

  /** Voices each listener receives (0 = everyone). */
  get k(): number {
    return this.#k;
  }

  setK(k: number): void {
    this.#k = k;
    this.update(true);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#holdTimer);
  }

  #producers(): ProducerInfo[] {
    return [...this.room.participants.values()].flatMap((p) =>
      p.producer ? [{ producerId: p.producer.id, muted: p.muted }] : [],
    );
  }

  /**
   * Re-ranks the speakers; when the set that can be forwarded changed (the
   * first K + 1 voices, or who is idle; or `force`, after a mute, a join, a
   * leave, a new K), updates every listener.
   */
  update(force: boolean): void {
    if (this.#closed) return;
    const previous = new Set(this.#state.ranking.slice(0, this.#k + 1));
    this.#state = decideForwarding({
      now: Date.now(),
      producers: this.#producers(),
      activity: (id) => this.room.activity.get(id),
      holdMs: this.room.holdMs,
      previouslyForwarded: previous,
    });
    this.#armHoldTimer();
    const key = `${this.#state.ranking.slice(0, this.#k + 1).join()}|${this.#state.idle.join()}`;
    if (!force && key === this.#stateKey) return;
    this.#stateKey = key;
    for (const listener of this.room.participants.values()) void this.apply(listener);
  }

  /** Re-ranks when the first held (silent) speaker's hold ends: no level report may come then. */
  #armHoldTimer(): void {
    clearTimeout(this.#holdTimer);
    let firstExpiry = Infinity;
    for (const id of this.#state.ranking) {
      const a = this.room.activity.get(id);
      if (a && !a.speaking && a.lastLoudAt !== undefined) {
        firstExpiry = Math.min(firstExpiry, a.lastLoudAt + this.room.holdMs);
      }
    }
    if (firstExpiry === Infinity) return;
    this.#holdTimer = setTimeout(() => this.update(false), Math.max(0, firstExpiry - Date.now()) + 5);
  }

  /** Makes the listener's running consumers match the policy (coalesced per listener). */
  apply(listener: Participant): Promise<void> {
    if (this.#applyPending.has(listener)) return Promise.resolve();
    this.#applyPending.add(listener);
    return queueOf(this.#applyQueues, listener).push(async () => {
      this.#applyPending.delete(listener);
      if (listener.closed || this.#closed) return;
      const forwarded = selectForListener(this.#state, this.#producers(), listener.producer?.id, this.#k);
      const consumers = [...listener.consumers.values()];
      const plan = planConsumers(
        consumers.map((c) => ({
          consumerId: c.id,
          producerId: c.producerId,
          running: !c.paused,
          clientReady: listener.isReady(c.id),
        })),
        forwarded,
      );
      const byId = new Map(consumers.map((c) => [c.id, c]));
      await Promise.all([
        ...plan.resume.map((id) => byId.get(id)!.resume().catch(() => {})),
        ...plan.pause.map((id) => byId.get(id)!.pause().catch(() => {})),
      ]);
    });
  }

  /**
   * Creates the listener's (paused) consumers of every other producer it lacks,
   * the best-ranked speakers first (a joiner hears who is talking sooner), then
   * applies the policy.
   */
  syncConsumers(listener: Participant): Promise<void> {
    return queueOf(this.#createQueues, listener)
      .push(async () => {
        if (listener.closed || !listener.rtpCapabilities) return;
        const have = new Set([...listener.consumers.values()].map((c) => c.producerId));
        const rank = (p: Participant) => {
          const i = p.producer ? this.#state.ranking.indexOf(p.producer.id) : -1;
          return i < 0 ? Infinity : i;
        };
        for (const owner of [...this.room.participants.values()].sort((a, b) => rank(a) - rank(b))) {
          const producer = owner.producer;
          if (owner === listener || !producer || have.has(producer.id)) continue;
          try {
            await listener.consume(this.room.router, producer, owner.id);
          } catch (err) {
            // The producer or the transport closed meanwhile; nothing to consume.
            this.room.log.debug('consume failed', { room: this.room.name, listener: listener.id, error: err as Error });
          }
        }
      })
      .then(() => this.apply(listener));
  }
}

function queueOf(queues: WeakMap<Participant, SerialQueue>, listener: Participant): SerialQueue {
  let queue = queues.get(listener);
  if (!queue) queues.set(listener, (queue = new SerialQueue()));
  return queue;
}
