// A room: one mediasoup router on one worker, and the participants in it.
//
// The room owns its router and its participants. It decides who receives what
// (through the forwarding policy), tells participants about each other, and
// closes itself a moment after its last participant leaves, or at once when its
// router closes under it (the worker died).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MediaWorker } from '../media/workerPool.ts';
import type { LeaveReason } from '../protocol/messages.ts';
import { SerialQueue } from '../util/serialQueue.ts';
import { selectForwarded } from './forwardingPolicy.ts';
import { type Direction, Participant, type PeerLink } from './participant.ts';

export type RoomCloseReason = 'empty' | 'workerDied' | 'serverShutdown';

export interface RoomOptions {
  emptyRoomCloseDelayMs: number;
  maxParticipants: number;
}

type RoomEvents = {
  participantJoined: [Participant];
  participantLeft: [Participant, LeaveReason];
  close: [RoomCloseReason];
};

export class Room extends EventEmitter<RoomEvents> {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  readonly #participants = new Map<string, Participant>();
  /** Consumer set-up per listener runs in order, so a producer is never consumed twice. */
  readonly #syncQueues = new WeakMap<Participant, SerialQueue>();
  #emptyTimer?: NodeJS.Timeout;
  #closed = false;

  constructor(
    readonly name: string,
    readonly media: MediaWorker,
    readonly router: types.Router,
    readonly options: RoomOptions,
    readonly log: Logger,
  ) {
    super();
    // The router closes under us when its worker dies.
    router.observer.once('close', () => this.close('workerDied'));
    this.#armEmptyTimer();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  join(displayName: string, link: PeerLink): Participant {
    if (this.#closed) throw new ChorusError('ROOM_CLOSED', `room ${this.name} is closing; join again`);
    if (this.#participants.size >= this.options.maxParticipants) {
      throw new ChorusError('ROOM_FULL', `room ${this.name} is full (${this.options.maxParticipants} participants)`);
    }
    clearTimeout(this.#emptyTimer);
    const participant = new Participant(displayName, link);
    for (const other of this.#participants.values()) {
      other.link.notify('participantJoined', { participant: participant.info() });
    }
    this.#participants.set(participant.id, participant);
    participant.once('close', (reason) => this.#onParticipantClosed(participant, reason));
    this.log.info('participant joined', { room: this.name, participant: participant.id, displayName });
    this.emit('participantJoined', participant);
    return participant;
  }

  #onParticipantClosed(participant: Participant, reason: LeaveReason): void {
    this.#participants.delete(participant.id);
    this.log.info('participant left', { room: this.name, participant: participant.id, reason });
    if (!this.#closed) {
      for (const other of this.#participants.values()) {
        other.link.notify('participantLeft', { participantId: participant.id, reason });
      }
    }
    this.emit('participantLeft', participant, reason);
    this.#armEmptyTimer();
  }

  #armEmptyTimer(): void {
    if (this.#closed || this.#participants.size > 0) return;
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = setTimeout(() => this.close('empty'), this.options.emptyRoomCloseDelayMs);
  }

  createTransport(participant: Participant, direction: Direction): Promise<types.WebRtcTransport> {
    return participant.createTransport(this.router, this.media.webRtcServer, direction);
  }

  async produce(participant: Participant, transportId: string, rtpParameters: types.RtpParameters, paused: boolean) {
    const producer = await participant.produce(transportId, rtpParameters, paused);
    if (paused) this.#broadcast(participant, 'producerPaused');
    for (const listener of this.#participants.values()) void this.syncConsumers(listener);
    return producer;
  }

  async setMuted(participant: Participant, muted: boolean): Promise<void> {
    if (await participant.setMuted(muted)) {
      this.#broadcast(participant, muted ? 'producerPaused' : 'producerResumed');
    }
  }

  #broadcast(from: Participant, name: 'producerPaused' | 'producerResumed'): void {
    for (const other of this.#participants.values()) {
      if (other !== from) other.link.notify(name, { participantId: from.id });
    }
  }

  /**
   * Makes the listener's consumers match the forwarding policy: consumes what is
   * selected and not yet consumed, closes what is consumed and no longer selected.
   */
  syncConsumers(listener: Participant): Promise<void> {
    let queue = this.#syncQueues.get(listener);
    if (!queue) this.#syncQueues.set(listener, (queue = new SerialQueue()));
    return queue.push(async () => {
      if (listener.closed || !listener.rtpCapabilities) return;
      const sources = [...this.#participants.values()].flatMap((p) =>
        p.producer ? [{ participantId: p.id, producerId: p.producer.id, producer: p.producer }] : [],
      );
      const wanted = selectForwarded(listener.id, sources);
      const have = new Set<string>();
      for (const consumer of listener.consumers.values()) {
        if (wanted.has(consumer.producerId)) have.add(consumer.producerId);
        else listener.closeConsumer(consumer.id);
      }
      for (const source of sources) {
        if (!wanted.has(source.producerId) || have.has(source.producerId)) continue;
        try {
          await listener.consume(this.router, source.producer, source.participantId);
        } catch (err) {
          // The producer or the transport closed meanwhile; the next sync sets things right.
          this.log.debug('consume failed', { room: this.name, listener: listener.id, error: err as Error });
        }
      }
    });
  }

  /** Closes every participant and the router. Idempotent; emits 'close' once. */
  close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#emptyTimer);
    const leave: LeaveReason = reason === 'workerDied' ? 'workerDied' : 'serverShutdown';
    for (const p of [...this.#participants.values()]) {
      if (reason !== 'empty') p.link.notify('roomClosed', { reason: leave });
      p.close(leave);
    }
    this.router.close();
    this.log.info('room closed', { room: this.name, reason });
    this.emit('close', reason);
  }
}
