// Where a room runs, and how it moves when a worker under it dies.
//
// A room opens on a router from its RouterSource, with the speaker observers
// on it (placement()). When that router's worker dies, the room moves: it gets
// a router on a live worker from the same source and keeps everything else
// (participants with their ids, roles, mute and moderation state, the removed
// list, the chat). Their mediasoup objects died with the router (those on the
// room's other routers are closed with them); each participant drops them, is
// placed again and is told (`roomMoved`), and its client sets its media up
// again. Only when no worker can take the room does it close ('workerDied';
// the clients rejoin). When a worker the room only spans dies, its
// participants there move the same way and nobody else notices.
//
// One RoomMover per room, made with it and owned by it. It holds the moves in
// progress (the room's media requests wait for them: placed()) and nothing
// that needs closing: a move that finds the room closed gives its new router
// back.
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import type { MediaWorker } from '../media/workerPool.ts';
import { consumerCap } from './consumerPolicy.ts';
import type { Participant } from './participant.ts';
import type { RoomSpan } from './roomSpan.ts';
import { SpeakerMonitor } from './speakerMonitor.ts';

/** Where a room gets a router: when it opens, and again when its worker dies. */
export type RouterSource = () => Promise<{ media: MediaWorker; router: types.Router }>;

/** A room (or its participants on one worker) moved off a dead worker: who was moved, from where to where. */
export interface RoomMove {
  from: MediaWorker;
  to: MediaWorker;
  participants: readonly Participant[];
  at: Date;
  /** The room's primary router moved (else only participants on a worker it spanned). */
  primary: boolean;
}

/** A router for the room, with the speaker observers on it. */
export interface Placement {
  media: MediaWorker;
  router: types.Router;
  speakers: SpeakerMonitor;
}

/** The room's options a placement uses (RoomOptions has them). */
export interface PlacementOptions {
  maxParticipants: number;
  maxConsumersPerListener: number;
  speakingThresholdDbov: number;
  levelIntervalMs: number;
}

/** What a RoomMover sees of its room, and does to it. */
export interface MovingRoom {
  readonly name: string;
  readonly log: Logger;
  readonly source: RouterSource;
  readonly options: PlacementOptions;
  readonly closed: boolean;
  /** The people here (remote participants are not placed here). */
  readonly participants: ReadonlyMap<string, Participant>;
  /** The room's current primary worker, speaker observers and span. */
  readonly media: MediaWorker;
  readonly speakers: SpeakerMonitor;
  readonly span: RoomSpan;
  /** Voices each listener receives (0 = everyone). */
  readonly forwardK: number;
  /** Runs the room on this router from now on. */
  place(placed: Placement): void;
  /** Someone was moved: the room reports it. */
  moved(move: RoomMove): void;
  /** Consumers went and came: the room forwards again. */
  reforward(): void;
  /** No worker can take the room. */
  close(reason: 'workerDied'): void;
}

export class RoomMover {
  /** Set while the room (or some of its participants) moves to another worker; media requests wait for it. */
  #moving?: Promise<void>;
  #movingLost?: Promise<void>;

  constructor(readonly room: MovingRoom) {}

  /** A router from `source`, with the speaker observers on it. */
  static async placement(source: RouterSource, options: PlacementOptions): Promise<Placement> {
    const { media, router } = await source();
    try {
      const speakers = await SpeakerMonitor.create(router, {
        intervalMs: options.levelIntervalMs,
        thresholdDbov: options.speakingThresholdDbov,
        maxEntries: options.maxParticipants,
      });
      return { media, router, speakers };
    } catch (err) {
      router.close();
      throw err;
    }
  }

  /** Resolves once the room and its participants are on live routers (at once, unless something is moving). */
  async placed(): Promise<void> {
    await this.#moving;
    await this.#movingLost;
  }

  /** The router closed under the room (its worker died, or the pool closed): move. */
  primaryLost(): void {
    if (!this.room.closed) this.#moving = this.#move();
  }

  /** A worker the room spans died: its participants there (`lost`) move. */
  spanLost(from: MediaWorker, lost: readonly Participant[]): void {
    const moving = this.#relocate(from, lost, false).finally(() => {
      if (this.#movingLost === moving) this.#movingLost = undefined;
    });
    this.#movingLost = moving;
  }

  /**
   * The worker died: every participant drops its (dead) media objects, the
   * room gets a router on a live worker and tells each participant to set its
   * media up again. Closes the room ('workerDied') when no worker takes it.
   */
  async #move(): Promise<void> {
    const room = this.room;
    const from = room.media;
    for (const p of room.participants.values()) p.dropMedia();
    room.speakers.removeAllListeners();
    room.span.removeAllListeners();
    room.span.close(); // the room's routers on other workers go too: everyone is placed again
    // mediasoup closes a dead worker's routers before it reports the death:
    // let the pool hear of it first (it schedules the replacement we may wait for).
    await new Promise((resolve) => setImmediate(resolve));
    let placed: Placement;
    try {
      placed = await RoomMover.placement(room.source, room.options);
    } catch (err) {
      this.#moving = undefined;
      room.log.warn('no live worker can take the room of a dead worker: closing it', { room: room.name, error: err as Error });
      room.close('workerDied');
      return;
    }
    if (room.closed) {
      this.#moving = undefined;
      return void placed.router.close();
    }
    room.place(placed);
    await this.#relocate(from, [...room.participants.values()], true);
    this.#moving = undefined;
  }

  /**
   * Places participants whose media died with `from` again, tells each
   * (`roomMoved`) and reports the move, per worker they went to (`primary`:
   * the room's own router moved, to the first of them).
   */
  async #relocate(from: MediaWorker, participants: readonly Participant[], primary: boolean): Promise<void> {
    const room = this.room;
    const moved = new Map<MediaWorker, Participant[]>(primary ? [[room.media, []]] : []);
    const span = room.span;
    for (const p of participants) {
      if (!primary) p.dropMedia();
      // Closed, or the primary died meanwhile: that move places everyone.
      if (p.closed || room.closed || span !== room.span) continue;
      try {
        const { media, router } = await span.place(p, this.expectedConsumers(p));
        if (!moved.has(media)) moved.set(media, []);
        moved.get(media)!.push(p);
        p.link.notify('roomMoved', { routerRtpCapabilities: router.rtpCapabilities });
      } catch (err) {
        if (span !== room.span) continue;
        room.log.warn('cannot place a participant whose worker died', { room: room.name, participant: p.id, error: err as Error });
        p.link.notify('roomClosed', { reason: 'workerDied' });
        p.close('workerDied');
      }
    }
    const at = new Date();
    for (const [to, group] of moved) {
      const isPrimary = primary && to === room.media;
      room.log.info(isPrimary ? 'room moved off a dead worker' : 'participants moved off a dead worker', {
        room: room.name,
        from: from.pid,
        to: to.pid,
        participants: group.length,
      });
      room.moved({ from, to, participants: group, at, primary: isPrimary });
    }
    room.reforward();
  }

  /** Consumers `p` will hold: one per sender it may hear (others who may send), at most a listener's cap. */
  expectedConsumers(p: Participant): number {
    let senders = 0;
    for (const other of this.room.participants.values()) if (other !== p && other.role !== 'listener') senders++;
    return Math.max(1, Math.min(consumerCap(this.room.forwardK, this.room.options.maxConsumersPerListener), senders));
  }
}
