// A room: its primary mediasoup router on one worker, and the participants in it.
//
// The room owns its router (and the speaker observers on it) and its
// participants. When a worker is at its consumer budget, new participants sit
// on routers of the room on other workers, and the voices they need are piped
// there: the room's RoomSpan (roomSpan.ts) places them and owns those routers
// and pipes. Its Forwarder decides which voices each listener receives and
// applies that to the listener's consumers (forwarder.ts). It closes itself a
// moment after its last participant leaves.
//
// When a worker under it dies, the room moves to live ones and keeps its
// participants and their state: its RoomMover (roomMover.ts) does that.
//
// A room spanning nodes (sfu/cluster/octo.ts) adds *remote* participants
// (participant.ts): mirrors of people on another node, whose producers are
// piped here, and, on the owner, one stand-in listener per satellite node.
// They take part in forwarding, levels and the dominant speaker only: not in
// the counts or the events (the session records are their own node's). What
// everyone sees of the people on other nodes (roster, mute, hands) is the
// room's PeopleElsewhere (peopleElsewhere.ts), whose people count towards
// maxParticipants as the people here do, and an identity joining elsewhere
// replaces its earlier session here; the events `muted`, `hands`, `chat` and
// `removed` say what changed here, for the other nodes.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MediaWorker } from '../media/workerPool.ts';
import type { ChatMessage, LeaveReason, NotificationData, NotificationName } from '../../protocol/messages.ts';
import type { Grant } from '../auth/tokens.ts';
import { Forwarder, ownerOf } from './forwarder.ts';
import { type Direction, Participant, type PeerLink } from './participant.ts';
import { RoomChat } from './chat.ts';
import { RaisedHands } from './hands.ts';
import { PeopleElsewhere } from './peopleElsewhere.ts';
import { RoomNotices } from './roomNotices.ts';
import { type Placement, type RoomMove, RoomMover, type RouterSource } from './roomMover.ts';
import { RoomSpan, type SpanWorkers } from './roomSpan.ts';
import { SpeakerMonitor } from './speakerMonitor.ts';

export type RoomCloseReason = 'empty' | 'workerDied' | 'serverShutdown' | 'closedByAdmin';

export interface RoomOptions {
  emptyRoomCloseDelayMs: number;
  maxParticipants: number;
  /** Voices each listener receives (0 = all). */
  forwardK: number;
  speakerHoldMs: number;
  /** Consumers a listener holds at most: the voices it may hear soon (consumerPolicy.ts). */
  maxConsumersPerListener: number;
  speakingThresholdDbov: number;
  levelIntervalMs: number;
  /** Consumers a worker holds before new participants go to another worker (the room spans workers). */
  maxConsumersPerWorker: number;
}

type RoomEvents = {
  participantJoined: [Participant];
  participantLeft: [Participant, LeaveReason];
  /** A participant here produces: its producer as the primary router has it (a room spanning nodes pipes it on). */
  producer: [Participant, types.Producer];
  moved: [RoomMove];
  /** Someone here muted or unmuted (themselves, a moderator, or by producing paused). */
  muted: [Participant];
  /** The hands raised here changed. */
  hands: [];
  /** Someone here posted a chat message. */
  chat: [ChatMessage];
  /** An identity was removed here (refused for the room's life). */
  removed: [string];
  close: [RoomCloseReason];
};

export class Room extends EventEmitter<RoomEvents> {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  readonly chat = new RoomChat({ historySize: 50, rateLimit: 5, rateWindowMs: 5_000 });
  readonly hands = new RaisedHands();
  /** The room's people on other nodes (a room spanning nodes). */
  readonly elsewhere: PeopleElsewhere;
  readonly #participants = new Map<string, Participant>();
  /** Mirrors and node stand-ins (a room spanning nodes), by id. */
  readonly #remote = new Map<string, Participant>();
  /** Holds that keep the room open while empty here (satellites of it on other nodes). */
  #holds = 0;
  readonly #forwarder: Forwarder;
  readonly #notices: RoomNotices;
  #emptyTimer?: NodeJS.Timeout;
  #dominant?: Participant;
  /** Identities removed by a moderator or admin: refused for the rest of the room's life. */
  readonly #removed = new Set<string>();
  #closed = false;
  #media!: MediaWorker;
  #router!: types.Router;
  #speakers!: SpeakerMonitor;
  #span!: RoomSpan;
  readonly #mover: RoomMover;

  private constructor(
    readonly name: string,
    readonly source: RouterSource,
    readonly spanWorkers: SpanWorkers,
    placed: Placement,
    readonly options: RoomOptions,
    readonly log: Logger,
  ) {
    super();
    const room = this;
    this.#forwarder = new Forwarder(
      {
        name,
        consume: (listener, owner) => room.#span.consume(listener, owner),
        // A getter: the speaker observers change when the room moves.
        get activity() {
          return room.#speakers.tracker;
        },
        get participants() {
          return room.#everyone;
        },
        holdMs: options.speakerHoldMs,
        maxConsumersPerListener: options.maxConsumersPerListener,
        log,
      },
      options.forwardK,
    );
    this.#notices = new RoomNotices(() => this.#everyone.values(), () => this.#speakers.tracker, options.speakingThresholdDbov, {
      speakers: (data) => this.#broadcast('speakers', data),
      connectionQuality: (data) => this.#broadcast('connectionQuality', data),
    });
    this.elsewhere = new PeopleElsewhere({
      name,
      maxPeople: options.maxParticipants,
      broadcast: (n, data) => this.#broadcast(n, data),
      isHere: (id) => this.#participants.has(id),
      mirror: (id) => (this.#remote.get(id)?.remote?.kind === 'mirror' ? this.#remote.get(id) : undefined),
      mirrorMuted: () => this.#forwarder.update(true),
      handsChanged: () => this.#broadcastHands(),
    });
    this.#mover = new RoomMover({
      name,
      log,
      source,
      options,
      participants: this.#participants,
      get closed() {
        return room.#closed;
      },
      get media() {
        return room.#media;
      },
      get speakers() {
        return room.#speakers;
      },
      get span() {
        return room.#span;
      },
      get forwardK() {
        return room.#forwarder.k;
      },
      place: (next) => room.#place(next),
      moved: (move) => room.emit('moved', move),
      reforward: () => room.#forwarder.update(true),
      close: (reason) => room.close(reason),
    });
    this.#place(placed);
    this.#armEmptyTimer();
  }

  /** Everyone forwarding and the level reports know of: the people here, and the remote ones. */
  get #everyone(): ReadonlyMap<string, Participant> {
    return this.#remote.size === 0 ? this.#participants : new Map([...this.#participants, ...this.#remote]);
  }

  /** Opens a room on a router from `source`. */
  static async create(name: string, source: RouterSource, spanWorkers: SpanWorkers, options: RoomOptions, log: Logger): Promise<Room> {
    return new Room(name, source, spanWorkers, await RoomMover.placement(source, options), options, log);
  }

  /** Runs the room on this router from now on. */
  #place({ media, router, speakers }: Placement): void {
    this.#media = media;
    this.#router = router;
    this.#speakers = speakers;
    this.#span = new RoomSpan({ media, router, participants: new Set() }, this.spanWorkers, this.options.maxConsumersPerWorker, this.log, this.name);
    this.#span.on('lost', (from, lost) => this.#mover.spanLost(from, lost));
    // The router closes under us when its worker dies (or the pool closes): move.
    router.once('workerclose', () => this.#mover.primaryLost());
    speakers.on('report', () => this.#onLevels());
    speakers.on('dominant', (producerId) => {
      const speaker = this.#ownerOf(producerId);
      if (!speaker) return;
      this.#dominant = speaker;
      this.#broadcast('dominantSpeaker', { participantId: speaker.id });
    });
  }

  /** The worker the room runs on (another one after a move). */
  get media(): MediaWorker {
    return this.#media;
  }

  get router(): types.Router {
    return this.#router;
  }

  /** The room's routers on every worker it spans, their participants and pipes. */
  get span(): RoomSpan {
    return this.#span;
  }

  /** The worker `p` sits on. */
  workerOf(p: Participant): MediaWorker {
    return this.#span.slotOf(p).media;
  }

  /** Resolves once the room and its participants are on live routers (at once, unless something is moving). */
  placed(): Promise<void> {
    return this.#mover.placed();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  /** The room's people: here and, for a room spanning nodes, on its other nodes. */
  get headcount(): number {
    return this.#participants.size + this.elsewhere.count();
  }

  /** At rooms.maxParticipants, here and elsewhere together: a join is refused ROOM_FULL. */
  get full(): boolean {
    return this.headcount >= this.options.maxParticipants;
  }

  /** The participant the active speaker observer last named dominant, if still here. */
  get dominantSpeaker(): Participant | undefined {
    return this.#dominant && !this.#dominant.closed ? this.#dominant : undefined;
  }

  /** Voices each listener receives (0 = everyone). */
  get forwardK(): number {
    return this.#forwarder.k;
  }

  setForwardK(k: number): void {
    this.#forwarder.setK(k);
  }

  async join(grant: Grant, link: PeerLink, requestedAt = Date.now()): Promise<Participant> {
    this.#admit(grant);
    const participant = new Participant(grant.identity, grant.displayName, grant.role, link, { requestedAt });
    // Where its media will live (another worker when this one is at its budget).
    clearTimeout(this.#emptyTimer);
    try {
      await this.#span.place(participant, this.#mover.expectedConsumers(participant));
      this.#admit(grant); // again: other joins and leaves went on meanwhile
      // The same identity again (a second tab, a reconnect): the new session replaces the old.
      const previous = [...this.#participants.values()].find((p) => p.identity === grant.identity);
      previous?.close('replaced');
      // Room-wide: the people here and on the room's other nodes (someone of this identity elsewhere is replaced: not counted).
      if (this.headcount - (this.elsewhere.hasIdentity(grant.identity) ? 1 : 0) >= this.options.maxParticipants) {
        throw new ChorusError('ROOM_FULL', `room ${this.name} is full (${this.options.maxParticipants} participants)`);
      }
    } catch (err) {
      this.#span.release(participant);
      this.#armEmptyTimer();
      throw err;
    }
    const displayName = grant.displayName;
    this.#broadcast('participantJoined', { participant: participant.info() });
    this.#participants.set(participant.id, participant);
    this.#notices.joined(); // the next level and quality reports go to everyone, the joiner included
    participant.once('close', (reason) => this.#onParticipantClosed(participant, reason));
    this.log.info('participant joined', { room: this.name, participant: participant.id, displayName });
    this.emit('participantJoined', participant);
    return participant;
  }

  #admit(grant: Grant): void {
    if (this.#closed) throw new ChorusError('ROOM_CLOSED', `room ${this.name} is closing; join again`);
    if (this.#removed.has(grant.identity)) {
      throw new ChorusError('FORBIDDEN', `you were removed from room ${this.name}`);
    }
  }

  /** Reasons a participant leaves without asking: their client is told it is out. */
  static readonly #removedBy: ReadonlySet<LeaveReason> = new Set(['transportFailed', 'replaced', 'removed']);

  #onParticipantClosed(participant: Participant, reason: LeaveReason): void {
    if (Room.#removedBy.has(reason)) participant.link.notify('participantLeft', { participantId: participant.id, reason });
    this.#participants.delete(participant.id);
    this.#span.release(participant);
    if (participant.failedTransport) {
      // Why a transport failed is in the order of its states (ICE never connected? DTLS timed out?).
      this.log.warn('transport failed', { room: this.name, participant: participant.id, ...participant.failedTransport });
    }
    this.log.info('participant left', { room: this.name, participant: participant.id, reason });
    if (!this.#closed) this.#broadcast('participantLeft', { participantId: participant.id, reason });
    if (this.hands.forget(participant.id) && !this.#closed) this.#handsChanged();
    this.emit('participantLeft', participant, reason);
    this.#forwarder.update(true);
    this.#armEmptyTimer();
  }

  #armEmptyTimer(): void {
    if (this.#closed || this.#participants.size > 0 || this.#holds > 0) return;
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = setTimeout(() => this.close('empty'), this.options.emptyRoomCloseDelayMs);
  }

  #broadcast<N extends NotificationName>(name: N, data: NotificationData<N>, except?: Participant): void {
    for (const p of this.#participants.values()) if (p !== except) p.link.notify(name, data);
  }

  #ownerOf(producerId: string): Participant | undefined {
    return ownerOf(this.#everyone, producerId);
  }

  async createTransport(participant: Participant, direction: Direction): Promise<types.WebRtcTransport> {
    await this.placed();
    const { router, media } = this.#span.slotOf(participant);
    return participant.createTransport(router, media.webRtcServer, direction);
  }

  async produce(participant: Participant, transportId: string, rtpParameters: types.RtpParameters, paused: boolean) {
    const producer = await participant.produce(transportId, rtpParameters, paused);
    // The observers live on the primary router: a producer made elsewhere is piped there.
    const observable = await this.#span.observable(participant, producer);
    await this.#speakers.addProducer(observable);
    this.emit('producer', participant, observable);
    if (paused) this.#mutedChanged(participant);
    // A new producer is idle until the level observer hears it: the policy must know it now.
    this.#forwarder.update(false);
    for (const listener of this.#participants.values()) void this.syncConsumers(listener);
    return producer;
  }

  /** The participant's client says it starts talking (see the protocol's `speaking`): forward it now if a slot allows. */
  hintSpeaking(participant: Participant): boolean {
    const producer = participant.producer;
    if (!producer || producer.paused || participant.closed) return false;
    const taken = this.#speakers.tracker.hint(producer.id, Date.now());
    if (taken) this.#forwarder.update(false);
    return taken;
  }

  async setMuted(participant: Participant, muted: boolean): Promise<void> {
    if (await participant.setMuted(muted)) this.#mutedChanged(participant);
  }

  /** Tells everyone (but them) that `p` muted or unmuted, and the other nodes; forwarding ranks again. */
  #mutedChanged(p: Participant): void {
    this.#broadcast(p.muted ? 'producerPaused' : 'producerResumed', { participantId: p.id }, p);
    this.#forwarder.update(true);
    this.emit('muted', p);
  }

  /** Remote participants (mirrors, node stand-ins) by id. */
  get remote(): ReadonlyMap<string, Participant> {
    return this.#remote;
  }

  /**
   * Adds a mirror (with its piped producer, on the primary router) or a node
   * stand-in (its consumers follow the forwarding policy like anyone's); it
   * leaves when closed.
   */
  async addRemote(p: Participant): Promise<void> {
    if (this.#closed) throw new ChorusError('ROOM_CLOSED', `room ${this.name} is closing`);
    this.#remote.set(p.id, p);
    this.elsewhere.mirrorAdded(p);
    p.once('close', () => {
      if (this.#remote.get(p.id) === p) this.#remote.delete(p.id);
      this.#forwarder.update(true);
    });
    if (p.producer) await this.#speakers.addProducer(p.producer);
    this.#forwarder.update(true);
  }

  /** Keeps the room open while nobody is here (a satellite of it has people); release() once. */
  hold(): () => void {
    this.#holds++;
    clearTimeout(this.#emptyTimer);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#armEmptyTimer();
    };
  }

  /** Posts `text` from `from` to everyone (rate-limited per participant). */
  postChat(from: Participant, text: string): string {
    const message = this.chat.post(from, text);
    this.#broadcast('chatMessage', message);
    this.emit('chat', message);
    return message.id;
  }

  /** A message posted on another node: told to everyone here unless known already. */
  addChat(message: ChatMessage): void {
    if (this.chat.add(message)) this.#broadcast('chatMessage', message);
  }

  /** `participant` raises their hand (INVALID_STATE if it is up, RATE_LIMITED if they do it too often). */
  raiseHand(participant: Participant): void {
    this.hands.raise(participant.id, Date.now());
    this.#handsChanged();
  }

  /** Lowers `target`'s hand: their own doing, or a moderator's (`byOther`). */
  lowerHand(target: Participant, byOther: boolean): void {
    this.hands.lower(target.id, Date.now(), { byOther });
    this.#handsChanged();
  }

  /** The room's queue of raised hands: here and on other nodes, first raised first. */
  raisedHands(): NotificationData<'raisedHands'>['hands'] {
    return this.elsewhere.hands(this.hands.list());
  }

  /** The hands here changed: everyone here is told the queue, and the other nodes. */
  #handsChanged(): void {
    this.#broadcastHands();
    this.emit('hands');
  }

  #broadcastHands(): void {
    this.#broadcast('raisedHands', { hands: this.raisedHands() });
  }

  /** A moderator's (or admin's) mute of `target`. */
  async forceMute(target: Participant, allowUnmute: boolean): Promise<void> {
    if (await target.forceMute(allowUnmute)) this.#mutedChanged(target);
    this.log.info('participant force-muted', { room: this.name, participant: target.id, allowUnmute });
  }

  /** Removes `target` from the room; their identity cannot rejoin while the room lasts. */
  remove(target: Participant): void {
    this.#removed.add(target.identity);
    target.close('removed');
    this.emit('removed', target.identity);
  }

  /** Identities removed from the room (by a moderator or admin, here or on another node). */
  get removed(): ReadonlySet<string> {
    return this.#removed;
  }

  /** An identity removed on another node: refused here too, and whoever is here as it goes. */
  refuse(identity: string): void {
    this.#removed.add(identity);
    for (const p of [...this.#participants.values()]) if (p.identity === identity) p.close('removed');
  }

  /**
   * Someone of `identity` is on another node of the room since `joinedAt`: a
   * session of it here that joined earlier is replaced, as by a second join here.
   */
  replacedElsewhere(identity: string, joinedAt: string): void {
    for (const p of [...this.#participants.values()]) if (p.identity === identity && p.joinedAt.toISOString() < joinedAt) p.close('replaced');
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
    return this.#forwarder.apply(participant);
  }

  /** Creates the listener's missing consumers (paused), then applies the forwarding policy. */
  syncConsumers(listener: Participant): Promise<void> {
    return this.#forwarder.syncConsumers(listener);
  }

  // --- levels ---

  #onLevels(): void {
    for (const p of this.#participants.values()) {
      if (p.producer && this.#speakers.tracker.get(p.producer.id)?.speaking) p.addSpeaking(this.options.levelIntervalMs);
    }
    this.#forwarder.update(false);
    this.#notices.levelsReported();
  }

  /** Everyone's connection quality (from the stats sampler): told to everyone when it changed. */
  publishConnectionQuality(levels: NotificationData<'connectionQuality'>['levels']): void {
    this.#notices.connectionQuality(levels);
  }

  /** Closes every participant and the router. Idempotent; emits 'close' once. */
  close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#emptyTimer);
    this.#notices.close();
    this.#forwarder.close();
    const leave: LeaveReason =
      reason === 'workerDied' ? 'workerDied' : reason === 'closedByAdmin' ? 'roomClosed' : 'serverShutdown';
    for (const p of [...this.#participants.values()]) {
      if (reason !== 'empty') p.link.notify('roomClosed', { reason: leave });
      p.close(leave);
    }
    for (const p of [...this.#remote.values()]) p.close(leave);
    this.#span.close();
    this.#router.close();
    this.log.info('room closed', { room: this.name, reason });
    this.emit('close', reason);
  }
}
