// A room: one mediasoup router on one worker, and the participants in it.
//
// The room owns its router (and the speaker observers on it) and its
// participants. Every listener has a consumer, created paused, for every other
// producer; the forwarding policy decides which of them run, and the room
// applies that with consumer pause/resume (no renegotiation, so a switch costs
// one worker request). It closes itself a moment after its last participant
// leaves, or at once when its router closes under it (the worker died).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MediaWorker } from '../media/workerPool.ts';
import type { LeaveReason, NotificationData } from '../protocol/messages.ts';
import type { Grant } from '../auth/tokens.ts';
import { SerialQueue } from '../util/serialQueue.ts';
import { type ProducerInfo, planConsumers, rankSpeakers, selectForListener } from './forwardingPolicy.ts';
import { type Direction, Participant, type PeerLink } from './participant.ts';
import { RoomChat } from './chat.ts';
import { SpeakerMonitor } from './speakerMonitor.ts';

export type RoomCloseReason = 'empty' | 'workerDied' | 'serverShutdown' | 'closedByAdmin';

export interface RoomOptions {
  emptyRoomCloseDelayMs: number;
  maxParticipants: number;
  /** Voices each listener receives (0 = all). */
  forwardK: number;
  speakerHoldMs: number;
  speakingThresholdDbov: number;
  levelIntervalMs: number;
}

type RoomEvents = {
  participantJoined: [Participant];
  participantLeft: [Participant, LeaveReason];
  close: [RoomCloseReason];
};

/** Speaker levels are pushed to clients at most this often, and only when they change. */
const LEVELS_NOTIFY_MS = 200;

export class Room extends EventEmitter<RoomEvents> {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  readonly chat = new RoomChat({ historySize: 50, rateLimit: 5, rateWindowMs: 5_000 });
  readonly #participants = new Map<string, Participant>();
  // Per listener, consumer creation runs in order (a producer is never consumed
  // twice) and so do forwarding updates, in a queue of their own: a speaker's
  // consumer resumes once the client is ready, not after all the others exist.
  readonly #createQueues = new WeakMap<Participant, SerialQueue>();
  readonly #applyQueues = new WeakMap<Participant, SerialQueue>();
  /** Listeners with a forwarding update queued (updates coalesce). */
  readonly #applyPending = new WeakSet<Participant>();
  #forwardK: number;
  #ranking: string[] = [];
  #rankingKey = '';
  #lastLevels = '';
  #lastLevelsAt = 0;
  #levelsTimer?: NodeJS.Timeout;
  #holdTimer?: NodeJS.Timeout;
  #emptyTimer?: NodeJS.Timeout;
  #dominant?: Participant;
  /** Identities removed by a moderator or admin: refused for the rest of the room's life. */
  readonly #removed = new Set<string>();
  #closed = false;

  private constructor(
    readonly name: string,
    readonly media: MediaWorker,
    readonly router: types.Router,
    readonly speakers: SpeakerMonitor,
    readonly options: RoomOptions,
    readonly log: Logger,
  ) {
    super();
    this.#forwardK = options.forwardK;
    // The router closes under us when its worker dies.
    router.observer.once('close', () => this.close('workerDied'));
    speakers.on('report', () => this.#onLevels());
    speakers.on('dominant', (producerId) => {
      const speaker = this.#ownerOf(producerId);
      if (!speaker) return;
      this.#dominant = speaker;
      this.#broadcast('dominantSpeaker', { participantId: speaker.id });
    });
    this.#armEmptyTimer();
  }

  static async create(name: string, media: MediaWorker, router: types.Router, options: RoomOptions, log: Logger) {
    try {
      const speakers = await SpeakerMonitor.create(router, {
        intervalMs: options.levelIntervalMs,
        thresholdDbov: options.speakingThresholdDbov,
        maxEntries: options.maxParticipants,
      });
      return new Room(name, media, router, speakers, options, log);
    } catch (err) {
      router.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  /** The participant the active speaker observer last named dominant, if still here. */
  get dominantSpeaker(): Participant | undefined {
    return this.#dominant && !this.#dominant.closed ? this.#dominant : undefined;
  }

  /** Voices each listener receives (0 = everyone). */
  get forwardK(): number {
    return this.#forwardK;
  }

  setForwardK(k: number): void {
    this.#forwardK = k;
    this.#updateForwarding(true);
  }

  join(grant: Grant, link: PeerLink, requestedAt = Date.now()): Participant {
    if (this.#closed) throw new ChorusError('ROOM_CLOSED', `room ${this.name} is closing; join again`);
    if (this.#removed.has(grant.identity)) {
      throw new ChorusError('FORBIDDEN', `you were removed from room ${this.name}`);
    }
    // The same identity again (a second tab, a reconnect): the new session replaces the old.
    const previous = [...this.#participants.values()].find((p) => p.identity === grant.identity);
    previous?.close('replaced');
    if (this.#participants.size >= this.options.maxParticipants) {
      throw new ChorusError('ROOM_FULL', `room ${this.name} is full (${this.options.maxParticipants} participants)`);
    }
    clearTimeout(this.#emptyTimer);
    const participant = new Participant(grant.identity, grant.displayName, grant.role, link, requestedAt);
    const displayName = grant.displayName;
    this.#broadcast('participantJoined', { participant: participant.info() });
    this.#participants.set(participant.id, participant);
    this.#lastLevels = ''; // the next level report goes to everyone, the joiner included
    participant.once('close', (reason) => this.#onParticipantClosed(participant, reason));
    this.log.info('participant joined', { room: this.name, participant: participant.id, displayName });
    this.emit('participantJoined', participant);
    return participant;
  }

  /** Reasons a participant leaves without asking: their client is told it is out. */
  static readonly #removedBy: ReadonlySet<LeaveReason> = new Set(['transportFailed', 'replaced', 'removed']);

  #onParticipantClosed(participant: Participant, reason: LeaveReason): void {
    if (Room.#removedBy.has(reason)) participant.link.notify('participantLeft', { participantId: participant.id, reason });
    this.#participants.delete(participant.id);
    this.log.info('participant left', { room: this.name, participant: participant.id, reason });
    if (!this.#closed) this.#broadcast('participantLeft', { participantId: participant.id, reason });
    this.emit('participantLeft', participant, reason);
    this.#updateForwarding(true);
    this.#armEmptyTimer();
  }

  #armEmptyTimer(): void {
    if (this.#closed || this.#participants.size > 0) return;
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = setTimeout(() => this.close('empty'), this.options.emptyRoomCloseDelayMs);
  }

  #broadcast<
    N extends
      | 'participantJoined'
      | 'participantLeft'
      | 'producerPaused'
      | 'producerResumed'
      | 'speakers'
      | 'dominantSpeaker'
      | 'chatMessage',
  >(
    name: N,
    data: NotificationData<N>,
    except?: Participant,
  ): void {
    for (const p of this.#participants.values()) if (p !== except) p.link.notify(name, data);
  }

  #ownerOf(producerId: string): Participant | undefined {
    for (const p of this.#participants.values()) if (p.producer?.id === producerId) return p;
    return undefined;
  }

  createTransport(participant: Participant, direction: Direction): Promise<types.WebRtcTransport> {
    return participant.createTransport(this.router, this.media.webRtcServer, direction);
  }

  async produce(participant: Participant, transportId: string, rtpParameters: types.RtpParameters, paused: boolean) {
    const producer = await participant.produce(transportId, rtpParameters, paused);
    await this.speakers.addProducer(producer);
    if (paused) this.#broadcast('producerPaused', { participantId: participant.id }, participant);
    for (const listener of this.#participants.values()) void this.syncConsumers(listener);
    return producer;
  }

  async setMuted(participant: Participant, muted: boolean): Promise<void> {
    if (await participant.setMuted(muted)) {
      this.#broadcast(muted ? 'producerPaused' : 'producerResumed', { participantId: participant.id }, participant);
      this.#updateForwarding(true);
    }
  }

  /** Posts `text` from `from` to everyone (rate-limited per participant). */
  postChat(from: Participant, text: string): string {
    const message = this.chat.post(from, text);
    this.#broadcast('chatMessage', message);
    return message.id;
  }

  /** A moderator's (or admin's) mute of `target`. */
  async forceMute(target: Participant, allowUnmute: boolean): Promise<void> {
    if (await target.forceMute(allowUnmute)) {
      this.#broadcast('producerPaused', { participantId: target.id }, target);
      this.#updateForwarding(true);
    }
    this.log.info('participant force-muted', { room: this.name, participant: target.id, allowUnmute });
  }

  /** Removes `target` from the room; their identity cannot rejoin while the room lasts. */
  remove(target: Participant): void {
    this.#removed.add(target.identity);
    target.close('removed');
  }

  /** The participant `participantId`, or NOT_FOUND. */
  participant(participantId: string): Participant {
    const p = this.#participants.get(participantId);
    if (!p) throw new ChorusError('NOT_FOUND', `no participant ${participantId} in room ${this.name}`);
    return p;
  }

  /** The client is ready to play this consumer; it runs once the policy selects it. */
  consumerReady(participant: Participant, consumerId: string): Promise<void> {
    participant.markReady(consumerId);
    return this.#applyForwarding(participant);
  }

  // --- forwarding ---

  #producers(): ProducerInfo[] {
    return [...this.#participants.values()].flatMap((p) =>
      p.producer ? [{ producerId: p.producer.id, muted: p.muted }] : [],
    );
  }

  /**
   * Re-ranks the speakers; when the set that can be forwarded changed (or
   * `force`, after a mute, a join, a leave, a new K), updates every listener.
   */
  #updateForwarding(force: boolean): void {
    if (this.#closed) return;
    const previous = new Set(this.#ranking.slice(0, this.#forwardK + 1));
    this.#ranking = rankSpeakers({
      now: Date.now(),
      producers: this.#producers(),
      activity: (id) => this.speakers.tracker.get(id),
      holdMs: this.options.speakerHoldMs,
      previouslyForwarded: previous,
    });
    this.#armHoldTimer();
    const key = this.#ranking.slice(0, this.#forwardK + 1).join();
    if (!force && key === this.#rankingKey) return;
    this.#rankingKey = key;
    for (const listener of this.#participants.values()) void this.#applyForwarding(listener);
  }

  /** Re-ranks when the first held (silent) speaker's hold ends: no level report may come then. */
  #armHoldTimer(): void {
    clearTimeout(this.#holdTimer);
    let firstExpiry = Infinity;
    for (const id of this.#ranking) {
      const a = this.speakers.tracker.get(id);
      if (a && !a.speaking && a.lastLoudAt !== undefined) {
        firstExpiry = Math.min(firstExpiry, a.lastLoudAt + this.options.speakerHoldMs);
      }
    }
    if (firstExpiry === Infinity) return;
    this.#holdTimer = setTimeout(() => this.#updateForwarding(false), Math.max(0, firstExpiry - Date.now()) + 5);
  }

  /** Makes the listener's running consumers match the policy (coalesced per listener). */
  #applyForwarding(listener: Participant): Promise<void> {
    if (this.#applyPending.has(listener)) return Promise.resolve();
    this.#applyPending.add(listener);
    return this.#queue(this.#applyQueues, listener).push(async () => {
      this.#applyPending.delete(listener);
      if (listener.closed || this.#closed) return;
      const producers = this.#producers();
      const forwarded = selectForListener(this.#ranking, producers, listener.producer?.id, this.#forwardK);
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

  #queue(queues: WeakMap<Participant, SerialQueue>, listener: Participant): SerialQueue {
    let queue = queues.get(listener);
    if (!queue) queues.set(listener, (queue = new SerialQueue()));
    return queue;
  }

  /**
   * Creates the listener's (paused) consumers of every other producer it lacks,
   * the best-ranked speakers first (a joiner hears who is talking sooner), then
   * applies the policy.
   */
  syncConsumers(listener: Participant): Promise<void> {
    return this.#queue(this.#createQueues, listener)
      .push(async () => {
        if (listener.closed || !listener.rtpCapabilities) return;
        const have = new Set([...listener.consumers.values()].map((c) => c.producerId));
        const rank = (p: Participant) => {
          const i = p.producer ? this.#ranking.indexOf(p.producer.id) : -1;
          return i < 0 ? Infinity : i;
        };
        for (const owner of [...this.#participants.values()].sort((a, b) => rank(a) - rank(b))) {
          const producer = owner.producer;
          if (owner === listener || !producer || have.has(producer.id)) continue;
          try {
            await listener.consume(this.router, producer, owner.id);
          } catch (err) {
            // The producer or the transport closed meanwhile; nothing to consume.
            this.log.debug('consume failed', { room: this.name, listener: listener.id, error: err as Error });
          }
        }
      })
      .then(() => this.#applyForwarding(listener));
  }

  // --- levels ---

  #onLevels(): void {
    for (const p of this.#participants.values()) {
      if (p.producer && this.speakers.tracker.get(p.producer.id)?.speaking) p.addSpeaking(this.options.levelIntervalMs);
    }
    this.#updateForwarding(false);
    if (this.#levelsTimer) return; // a send is already due
    const wait = Math.max(0, this.#lastLevelsAt + LEVELS_NOTIFY_MS - Date.now());
    this.#levelsTimer = setTimeout(() => {
      this.#levelsTimer = undefined;
      this.#sendLevels();
    }, wait);
  }

  /** Tells everyone who is speaking and how loud, if that changed since the last time. */
  #sendLevels(): void {
    if (this.#closed) return;
    const levels = [...this.#participants.values()].flatMap((p) => {
      const a = p.producer && !p.muted ? this.speakers.tracker.get(p.producer.id) : undefined;
      if (!a || !a.speaking) return [];
      return [{ participantId: p.id, level: levelToUnit(a.level, this.options.speakingThresholdDbov), speaking: true }];
    });
    const key = JSON.stringify(levels);
    if (key === this.#lastLevels) return;
    this.#lastLevels = key;
    this.#lastLevelsAt = Date.now();
    this.#broadcast('speakers', { levels });
  }

  /** Closes every participant and the router. Idempotent; emits 'close' once. */
  close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#emptyTimer);
    clearTimeout(this.#levelsTimer);
    clearTimeout(this.#holdTimer);
    const leave: LeaveReason =
      reason === 'workerDied' ? 'workerDied' : reason === 'closedByAdmin' ? 'roomClosed' : 'serverShutdown';
    for (const p of [...this.#participants.values()]) {
      if (reason !== 'empty') p.link.notify('roomClosed', { reason: leave });
      p.close(leave);
    }
    this.router.close();
    this.log.info('room closed', { room: this.name, reason });
    this.emit('close', reason);
  }
}

/** A speaking level (dBov) as 0..1 above the threshold, in steps of 0.1, for meters. */
export function levelToUnit(dbov: number, thresholdDbov: number): number {
  const unit = (dbov - thresholdDbov) / -thresholdDbov;
  return Math.round(Math.min(1, Math.max(0, unit)) * 10) / 10;
}
