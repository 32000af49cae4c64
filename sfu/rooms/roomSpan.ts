// Where a room's participants sit when the room spans workers: its primary
// router (the room's own, with the speaker observers) and, once a worker is at
// its consumer budget (media.maxConsumersPerWorker), secondary routers on
// other workers, one per worker, made on demand for new participants.
//
// The span owns the secondary routers and the pipes between the room's
// routers (pipes.ts). It closes a secondary router when its last participant
// leaves, and all of them when the room closes or moves (the primary router is
// the room's). A participant's transports live on its router; it receives a
// producer of another router through a pipe made when it gets a consumer of it
// and closed when no consumer there needs it (consume()), and every producer
// of a secondary router is piped to the primary for the observers
// (observable()). When a secondary router's worker dies, the span forgets it
// and reports its participants ('lost'); the room moves them.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MediaWorker } from '../media/workerPool.ts';
import type { Participant } from './participant.ts';
import { ProducerPipes } from './pipes.ts';

/** One of the room's routers and who sits on it. */
export interface Slot {
  readonly media: MediaWorker;
  readonly router: types.Router;
  readonly participants: Set<Participant>;
}

/** The workers a span may spread over, and how it gets a router on one of them. */
export interface SpanWorkers {
  workers(): readonly MediaWorker[];
  routerOn(media: MediaWorker): Promise<types.Router>;
}

type SpanEvents = {
  /** A secondary router died with its worker: these participants there lost their media. */
  lost: [MediaWorker, Participant[]];
};

export class RoomSpan extends EventEmitter<SpanEvents> {
  readonly #secondaries = new Map<MediaWorker, Slot>();
  readonly #opening = new Map<MediaWorker, Promise<Slot>>();
  readonly #placed = new Map<Participant, { slot: Slot; unexpect: () => void }>();
  readonly pipes = new ProducerPipes();
  #closed = false;

  constructor(
    readonly primary: Slot,
    readonly source: SpanWorkers,
    readonly maxConsumersPerWorker: number,
    readonly log: Logger,
    readonly roomName: string,
  ) {
    super();
  }

  /** The router `p` sits on (the primary until placed). */
  slotOf(p: Participant): Slot {
    return this.#placed.get(p)?.slot ?? this.primary;
  }

  /** Every router of the room, the primary first. */
  get slots(): Slot[] {
    return [this.primary, ...this.#secondaries.values()];
  }

  /**
   * Places `p`, who is expected to hold `expected` consumers: on the first of
   * the room's routers whose worker stays within its budget with them, else on
   * a new router on the least-loaded worker the room is not on yet that does,
   * else (every worker at its budget) wherever the load is least.
   */
  async place(p: Participant, expected: number): Promise<Slot> {
    for (let attempt = 0; ; attempt++) {
      const slot = await this.#choose(expected);
      if (this.#closed) throw new ChorusError('ROOM_CLOSED', 'the room is closing; join again');
      if (!slot.router.closed) {
        this.#assign(p, slot, expected);
        return slot;
      }
      if (attempt >= 2) throw new ChorusError('SERVER_BUSY', 'no media worker is available');
    }
  }

  async #choose(expected: number): Promise<Slot> {
    const fits = (m: MediaWorker) => m.load + expected <= this.maxConsumersPerWorker;
    const slots = this.slots.filter((s) => !s.router.closed);
    const onRoom = slots.find((s) => fits(s.media));
    if (onRoom) return onRoom;
    const spanned = new Set(slots.map((s) => s.media));
    const others = this.source.workers().filter((w) => !w.worker.closed && !spanned.has(w));
    const leastLoaded = (ws: MediaWorker[]) => ws.reduce<MediaWorker | undefined>((a, w) => (!a || w.load < a.load ? w : a), undefined);
    const target = leastLoaded(others.filter(fits)) ?? leastLoaded([...slots.map((s) => s.media), ...others]);
    if (!target) throw new ChorusError('SERVER_BUSY', 'no media worker is available');
    return slots.find((s) => s.media === target) ?? this.#open(target);
  }

  /** A secondary router on `media` (one per worker: concurrent joins share it). */
  #open(media: MediaWorker): Promise<Slot> {
    let opening = this.#opening.get(media);
    if (!opening) {
      opening = this.source.routerOn(media).then((router) => {
        const slot: Slot = { media, router, participants: new Set() };
        if (this.#closed) router.close();
        else {
          this.#secondaries.set(media, slot);
          router.once('workerclose', () => this.#onLost(slot));
          this.log.info('room spans another worker', { room: this.roomName, worker: media.index, pid: media.pid });
        }
        return slot;
      });
      const forget = () => this.#opening.delete(media);
      opening.then(forget, forget);
      this.#opening.set(media, opening);
    }
    return opening;
  }

  #assign(p: Participant, slot: Slot, expected: number): void {
    this.#unassign(p);
    slot.participants.add(p);
    // Until its consumers exist, the worker counts those this participant will make.
    const unexpect = slot.media.expect(() => Math.max(0, expected - p.consumers.size));
    this.#placed.set(p, { slot, unexpect });
  }

  #unassign(p: Participant): Slot | undefined {
    const placed = this.#placed.get(p);
    if (!placed) return undefined;
    this.#placed.delete(p);
    placed.unexpect();
    placed.slot.participants.delete(p);
    return placed.slot;
  }

  /** `p` left (or failed to join): a secondary router with nobody left on it closes. */
  release(p: Participant): void {
    const slot = this.#unassign(p);
    if (!slot || slot === this.primary || slot.participants.size > 0) return;
    if (this.#secondaries.get(slot.media) === slot) this.#secondaries.delete(slot.media);
    slot.router.close(); // its pipe transports, and so the pipes to and from it, close with it
    this.log.info('room left a worker', { room: this.roomName, worker: slot.media.index });
  }

  #onLost(slot: Slot): void {
    if (this.#secondaries.get(slot.media) !== slot) return;
    this.#secondaries.delete(slot.media);
    const lost = [...slot.participants];
    for (const p of lost) this.#unassign(p);
    this.log.warn('a worker the room spanned died', { room: this.roomName, worker: slot.media.index, participants: lost.length });
    this.emit('lost', slot.media, lost);
  }

  /**
   * The producer of `owner` as the observers on the primary router see it:
   * itself there, else piped to the primary for as long as it lives.
   */
  async observable(owner: Participant, producer: types.Producer): Promise<types.Producer> {
    const lease = await this.pipes.lease(producer, this.slotOf(owner).router, this.primary.router);
    producer.observer.once('close', lease.release);
    if (producer.closed) lease.release();
    return lease.producer;
  }

  /**
   * Gives `listener` a consumer of `owner`'s producer on the listener's
   * router, piping it there first when it lives on another one; the pipe's
   * lease is the consumer's and ends when it closes.
   */
  async consume(listener: Participant, owner: Participant): Promise<void> {
    const producer = owner.producer;
    if (!producer || producer.closed) return;
    const target = this.slotOf(listener).router;
    const lease = await this.pipes.lease(producer, this.slotOf(owner).router, target);
    let consumer: types.Consumer | undefined;
    try {
      consumer = await listener.consume(target, lease.producer, owner.id);
    } finally {
      if (!consumer || consumer.closed) lease.release();
      else consumer.observer.once('close', lease.release);
    }
  }

  /** The workers the room is on now, the primary's first. */
  get workers(): MediaWorker[] {
    return this.slots.map((s) => s.media);
  }

  /** Closes every secondary router (the room closes or moves; the primary is the room's). Participants are forgotten. */
  close(): void {
    this.#closed = true;
    for (const p of [...this.#placed.keys()]) this.#unassign(p);
    for (const slot of this.#secondaries.values()) slot.router.close();
    this.#secondaries.clear();
  }
}
