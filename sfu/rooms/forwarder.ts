// A room's selective forwarding: ranks the speakers and finds the idle
// producers (forwardingPolicy.ts), keeps each listener's consumers to the
// voices it may hear soon (consumerPolicy.ts: made on demand, the least
// recently heard closed), and makes their running state match, by pause/resume
// (a switch between held consumers costs one worker request, no
// renegotiation). Owned by its Room; `close()` stops its timer.
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
import { consumerCap, consumersFor, planConsumerSet, warmOrder, warmSetKey } from './consumerPolicy.ts';
import type { Participant } from './participant.ts';

export interface ForwarderContext {
  readonly name: string;
  /** Gives `listener` a (paused) consumer of `owner`'s producer, wherever each of them sits (roomSpan.ts). */
  consume(listener: Participant, owner: Participant): Promise<void>;
  readonly participants: ReadonlyMap<string, Participant>;
  readonly activity: SpeakerActivityTracker;
  readonly holdMs: number;
  /** Consumers a listener holds at most (at least K; K = 0 holds everyone's). */
  readonly maxConsumersPerListener: number;
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
  /** Listeners with a consumer sync queued and not started (syncs coalesce). */
  readonly #syncPending = new WeakMap<Participant, Promise<void>>();
  #k: number;
  #state: ForwardingState = { ranking: [], idle: [] };
  /** The room's producers, soonest to be heard first (consumerPolicy.ts). */
  #order: string[] = [];
  #stateKey = '';
  #warmKey = '';
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

  get #cap(): number {
    return consumerCap(this.#k, this.room.maxConsumersPerListener);
  }

  /**
   * Re-ranks the speakers; when the set that can be forwarded changed (the
   * first K + 1 voices, or who is idle; or `force`, after a mute, a join, a
   * leave, a new K), updates every listener; when the voices listeners should
   * hold consumers for changed, makes or closes consumers first.
   */
  update(force: boolean): void {
    if (this.#closed) return;
    const previous = new Set(this.#state.ranking.slice(0, this.#k + 1));
    const producers = this.#producers();
    const activity = (id: string) => this.room.activity.get(id);
    this.#state = decideForwarding({
      now: Date.now(),
      producers,
      activity,
      holdMs: this.room.holdMs,
      previouslyForwarded: previous,
    });
    this.#order = warmOrder(this.#state.ranking, producers, activity);
    this.#armHoldTimer();
    const warmKey = warmSetKey(this.#order, this.#cap);
    const resync = force || warmKey !== this.#warmKey;
    this.#warmKey = warmKey;
    const key = `${this.#state.ranking.slice(0, this.#k + 1).join()}|${this.#state.idle.join()}`;
    if (!resync && key === this.#stateKey) return;
    this.#stateKey = key;
    for (const listener of this.room.participants.values()) {
      // Running consumers switch at once; making new ones (slower) follows, then applies again.
      void this.apply(listener);
      if (resync) void this.syncConsumers(listener);
    }
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
      const from = this.#fromElsewhere(listener);
      const state = { ranking: this.#state.ranking.filter(from), idle: this.#state.idle.filter(from) };
      const forwarded = selectForListener(state, this.#producers().filter((p) => from(p.producerId)), listener.producer?.id, this.#k);
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
   * Makes the listener's consumers the ones the consumer policy wants: closes
   * those it no longer wants (the client is told), creates the missing ones
   * (paused; the best-ranked speakers first, so a joiner hears who is talking
   * sooner), then applies the forwarding policy.
   */
  syncConsumers(listener: Participant): Promise<void> {
    // Syncs coalesce: one waiting to start will see the latest state anyway.
    const pending = this.#syncPending.get(listener);
    if (pending) return pending;
    const sync = queueOf(this.#createQueues, listener)
      .push(async () => {
        this.#syncPending.delete(listener);
        if (listener.closed || !listener.rtpCapabilities || this.#closed) return;
        const wanted = consumersFor(this.#order.filter(this.#fromElsewhere(listener)), listener.producer?.id, this.#cap);
        const held = [...listener.consumers.values()].map((c) => ({ consumerId: c.id, producerId: c.producerId }));
        const plan = planConsumerSet(held, wanted);
        for (const id of plan.close) listener.closeConsumer(id);
        for (const producerId of plan.create) {
          const owner = ownerOf(this.room.participants, producerId);
          if (!owner?.producer || owner.producer.id !== producerId) continue; // left meanwhile
          try {
            await this.room.consume(listener, owner);
          } catch (err) {
            // The producer or the transport closed meanwhile; nothing to consume.
            this.room.log.debug('consume failed', { room: this.room.name, listener: listener.id, error: err as Error });
          }
        }
      })
      .then(() => this.apply(listener));
    this.#syncPending.set(listener, sync);
    return sync;
  }

  /**
   * Whether `listener` may receive a producer: a node's stand-in (a room
   * spanning nodes) never gets back the voices that come from that node.
   */
  #fromElsewhere(listener: Participant): (producerId: string) => boolean {
    const node = listener.remote?.kind === 'node' ? listener.remote.node : undefined;
    if (node === undefined) return () => true;
    return (producerId) => ownerOf(this.room.participants, producerId)?.remote?.node !== node;
  }
}

/** The participant among `participants` whose producer `producerId` is. */
export function ownerOf(participants: ReadonlyMap<string, Participant>, producerId: string): Participant | undefined {
  for (const p of participants.values()) if (p.producer?.id === producerId) return p;
  return undefined;
}

function queueOf(queues: WeakMap<Participant, SerialQueue>, listener: Participant): SerialQueue {
  let queue = queues.get(listener);
  if (!queue) queues.set(listener, (queue = new SerialQueue()));
  return queue;
}
