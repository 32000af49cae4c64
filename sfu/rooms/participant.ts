// One person in a room and the mediasoup objects that are theirs: up to one
// send and one receive WebRtcTransport, one Opus producer, and the consumers
// of other people's producers. The participant owns them: close() closes the
// transports, which closes the producer and consumers with them; dropMedia()
// forgets them (they died with their worker) while the participant stays.
//
// In a room spanning nodes (sfu/cluster/octo.ts) two kinds stand for others:
// a *mirror* is someone on another node whose producer is piped here (it has
// that producer and no transports); a *node* is a whole other node of the
// room as one listener here, whose consumers are pipe consumers on a
// PipeTransport to that node (its link carries newConsumer/consumerClosed there).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { ChorusError } from '../errors.ts';
import type { LeaveReason, NotificationData, NotificationName, ParticipantInfo, Role } from '../../protocol/messages.ts';

/** How a participant reaches its client (implemented by the signaling session). */
export interface PeerLink {
  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void;
}

export type Direction = 'send' | 'recv';

/** Who a participant stands for when it is not someone on this node (see the header). */
export interface RemoteOf {
  kind: 'mirror' | 'node';
  /** The node the person sits on, or the node this listener stands for. */
  node: string;
}

export interface ParticipantOptions {
  /** When the join request arrived (join latency is measured from here). */
  requestedAt?: number;
  /** The id (a mirror keeps the id its person has on their node). Default: a new one. */
  id?: string;
  remote?: RemoteOf;
}

type ParticipantEvents = {
  close: [LeaveReason];
  producer: [types.Producer];
  consumer: [types.Consumer];
};

export class Participant extends EventEmitter<ParticipantEvents> {
  readonly id: string;
  /** When the join request arrived (join latency is measured from here). */
  readonly requestedAt: number;
  /** Set for a mirror or a node's stand-in (undefined: someone on this node). */
  readonly remote?: RemoteOf;
  /** A node's stand-in: the PipeTransport its consumers are made on. */
  #pipe?: types.PipeTransport;
  readonly joinedAt = new Date();
  readonly #transports = new Map<Direction, types.WebRtcTransport>();
  /** Each transport's ICE and DTLS state changes since it was made (ms after), for the log when one fails. */
  readonly #history = new Map<Direction, string[]>();
  /** The transport whose DTLS failed (and so closed this participant), with its state history. */
  failedTransport?: { direction: Direction; history: readonly string[] };
  readonly #consumers = new Map<string, types.Consumer>(); // by consumer id
  /** Consumers whose track the client has set up (consumerReady). */
  readonly #ready = new Set<string>();
  #producer?: types.Producer;
  #rtpCapabilities?: types.RtpCapabilities;
  #muted = false;
  #mutedSince?: number;
  #mutedMs = 0;
  #speakingMs = 0;
  /** False while a moderator's mute holds: the participant may not unmute. */
  #unmuteAllowed = true;
  #closed = false;

  constructor(
    /** Who this is, from the join token (stable across sessions). */
    readonly identity: string,
    readonly displayName: string,
    readonly role: Role,
    readonly link: PeerLink,
    { requestedAt = Date.now(), id = randomUUID(), remote }: ParticipantOptions = {},
  ) {
    super();
    this.requestedAt = requestedAt;
    this.id = id;
    if (remote) this.remote = remote;
  }

  /** Seconds this participant has been muted so far. */
  mutedSeconds(now = Date.now()): number {
    return (this.#mutedMs + (this.#mutedSince !== undefined ? now - this.#mutedSince : 0)) / 1000;
  }

  /** Seconds the server has heard this participant speak so far. */
  get speakingSeconds(): number {
    return this.#speakingMs / 1000;
  }

  addSpeaking(ms: number): void {
    this.#speakingMs += ms;
  }

  #setMutedFlag(muted: boolean): void {
    if (muted === this.#muted) return;
    const now = Date.now();
    if (muted) this.#mutedSince = now;
    else if (this.#mutedSince !== undefined) {
      this.#mutedMs += now - this.#mutedSince;
      this.#mutedSince = undefined;
    }
    this.#muted = muted;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get muted(): boolean {
    return this.#muted;
  }
  get producer(): types.Producer | undefined {
    return this.#producer;
  }
  get rtpCapabilities(): types.RtpCapabilities | undefined {
    return this.#rtpCapabilities;
  }
  get consumers(): ReadonlyMap<string, types.Consumer> {
    return this.#consumers;
  }
  get transports(): ReadonlyMap<Direction, types.WebRtcTransport> {
    return this.#transports;
  }

  get unmuteAllowed(): boolean {
    return this.#unmuteAllowed;
  }

  info(): ParticipantInfo {
    return { id: this.id, displayName: this.displayName, role: this.role, muted: this.#muted };
  }

  transport(direction: Direction): types.WebRtcTransport {
    const t = this.#transports.get(direction);
    if (!t) throw new ChorusError('INVALID_STATE', `create the ${direction} transport first`);
    return t;
  }

  transportById(transportId: string): types.WebRtcTransport {
    for (const t of this.#transports.values()) if (t.id === transportId) return t;
    throw new ChorusError('NOT_FOUND', `no transport ${transportId} of yours`);
  }

  async createTransport(router: types.Router, webRtcServer: types.WebRtcServer, direction: Direction) {
    if (direction === 'send' && this.role === 'listener') {
      throw new ChorusError('FORBIDDEN', 'listeners cannot send audio');
    }
    if (this.#transports.has(direction)) {
      throw new ChorusError('INVALID_STATE', `the ${direction} transport exists already`);
    }
    const transport = await router.createWebRtcTransport({
      webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      appData: { participantId: this.id, direction },
    });
    if (this.#closed) {
      transport.close();
      throw new ChorusError('NOT_JOINED', 'you left the room');
    }
    this.#transports.set(direction, transport);
    const history: string[] = [];
    this.#history.set(direction, history);
    const t0 = Date.now();
    const note = (what: string) => {
      if (history.length < 40) history.push(`+${Date.now() - t0}ms ${what}`);
    };
    transport.on('icestatechange', (state) => note(`ice ${state}`));
    transport.on('iceselectedtuplechange', (tuple) => note(`tuple ${tuple.protocol} ${tuple.remoteIp}:${tuple.remotePort}`));
    transport.on('dtlsstatechange', (state) => {
      // Only the transport in use speaks for us (not one dropped when the room moved).
      if (this.#transports.get(direction) !== transport) return;
      note(`dtls ${state}`);
      if (state === 'failed' || state === 'closed') {
        this.failedTransport = { direction, history };
        this.close('transportFailed');
      }
    });
    return transport;
  }

  async produce(transportId: string, rtpParameters: types.RtpParameters, paused: boolean): Promise<types.Producer> {
    const transport = this.transportById(transportId);
    if (transport !== this.#transports.get('send')) {
      throw new ChorusError('INVALID_STATE', 'produce on the send transport');
    }
    if (this.#producer) throw new ChorusError('INVALID_STATE', 'you already send a microphone');
    // A participant a moderator muted starts muted.
    const startPaused = paused || this.#muted;
    const producer = await transport.produce({ kind: 'audio', rtpParameters, paused: startPaused });
    this.#producer = producer;
    this.#setMutedFlag(startPaused);
    this.emit('producer', producer);
    producer.observer.once('close', () => {
      if (this.#producer === producer) this.#producer = undefined;
    });
    return producer;
  }

  /** A mirror: its person's producer, piped to this node (closed by whoever piped it). */
  attachProducer(producer: types.Producer): void {
    if (!this.remote || this.#producer) throw new ChorusError('INVALID_STATE', 'only a mirror without a producer takes one');
    this.#producer = producer;
    this.emit('producer', producer);
    producer.observer.once('close', () => {
      if (this.#producer === producer) this.#producer = undefined;
    });
  }

  /** A node's stand-in: consumers are made on this PipeTransport (closed with this participant). */
  usePipe(transport: types.PipeTransport, caps: types.RtpCapabilities): void {
    this.#pipe = transport;
    this.#rtpCapabilities = caps;
  }

  setRtpCapabilities(caps: types.RtpCapabilities): void {
    this.#rtpCapabilities = caps;
  }

  /** Pauses or resumes the producer; returns false when nothing changed. */
  async setMuted(muted: boolean): Promise<boolean> {
    if (!muted && !this.#unmuteAllowed) {
      throw new ChorusError('FORBIDDEN', 'a moderator muted you; you can unmute when they allow it');
    }
    if (muted === this.#muted) return false;
    this.#setMutedFlag(muted);
    if (this.#producer) await (muted ? this.#producer.pause() : this.#producer.resume());
    return true;
  }

  /** A mirror: its person muted or unmuted on their node (their producer there pauses); returns whether it changed. */
  mirrorMuted(muted: boolean): boolean {
    if (this.remote?.kind !== 'mirror' || muted === this.#muted) return false;
    this.#setMutedFlag(muted);
    return true;
  }

  /** A moderator's mute: muted now, and unmuting allowed only if `allowUnmute`. */
  async forceMute(allowUnmute: boolean): Promise<boolean> {
    this.#unmuteAllowed = allowUnmute;
    const changed = !this.#muted;
    if (changed) {
      this.#setMutedFlag(true);
      await this.#producer?.pause();
    }
    this.link.notify('forceMuted', { allowUnmute });
    return changed;
  }

  /**
   * Creates a paused consumer of `producer` (on `router`, the one of our
   * receive transport) and tells the client; the consumer, unless there was
   * nothing to consume.
   */
  async consume(router: types.Router, producer: types.Producer, producerOwner: string): Promise<types.Consumer | undefined> {
    const caps = this.#rtpCapabilities;
    const pipe = this.#pipe;
    const transport = this.#transports.get('recv');
    if (!caps || producer.closed) return undefined;
    if (pipe ? pipe.closed : !transport || transport.closed) return undefined;
    if (!router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) return undefined;
    const consumer = pipe
      ? await this.#pipeConsumer(pipe, producer, producerOwner)
      : await transport!.consume({
          producerId: producer.id,
          rtpCapabilities: caps,
          // Paused until the client says its track is ready (consumerReady) and the
          // forwarding policy selects this voice; the room resumes it then.
          paused: true,
          // Do not forward Opus DTX packets (a silent speaker's ~2.5/s comfort-noise
          // frames): mediasoup rewrites sequence numbers so receivers see no loss,
          // browsers conceal the gap as silence, and a held-but-silent speaker then
          // costs no forwarding at all.
          ignoreDtx: true,
          appData: { participantId: producerOwner },
        });
    if (this.#closed) {
      consumer.close();
      return undefined;
    }
    this.#consumers.set(consumer.id, consumer);
    this.emit('consumer', consumer);
    consumer.observer.once('close', () => {
      this.#consumers.delete(consumer.id);
      this.#ready.delete(consumer.id);
    });
    consumer.on('producerclose', () => this.link.notify('consumerClosed', { consumerId: consumer.id }));
    this.link.notify('newConsumer', {
      consumerId: consumer.id,
      producerId: producer.id,
      participantId: producerOwner,
      kind: 'audio',
      rtpParameters: consumer.rtpParameters,
    });
    return consumer;
  }

  /** A pipe consumer, paused as a client's consumer starts (the forwarding policy resumes it). */
  async #pipeConsumer(pipe: types.PipeTransport, producer: types.Producer, producerOwner: string): Promise<types.Consumer> {
    const consumer = await pipe.consume({ producerId: producer.id, appData: { participantId: producerOwner } });
    await consumer.pause().catch(() => {});
    return consumer;
  }

  /** Closes one of our consumers (forwarding no longer wants it) and tells the client. */
  closeConsumer(consumerId: string): void {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) return;
    consumer.close();
    this.link.notify('consumerClosed', { consumerId });
  }

  /** The client has set up this consumer's track. */
  markReady(consumerId: string): void {
    if (!this.#consumers.has(consumerId)) throw new ChorusError('NOT_FOUND', `no consumer ${consumerId} of yours`);
    this.#ready.add(consumerId);
  }

  isReady(consumerId: string): boolean {
    return this.#ready.has(consumerId);
  }

  /**
   * The room moves off a dead worker: the transports, producer and consumers
   * died with its router. Forget them (and the receive capabilities: the
   * client sends them again with its new consume); the participant stays,
   * with its mute and moderation state.
   */
  dropMedia(): void {
    for (const t of this.#transports.values()) t.close();
    this.#transports.clear();
    this.#consumers.clear();
    this.#ready.clear();
    this.#producer = undefined;
    this.#rtpCapabilities = undefined;
  }

  /** Closes everything of this participant. Idempotent; emits 'close' once. */
  close(reason: LeaveReason): void {
    if (this.#closed) return;
    // Stop the muted clock for the record; the flag itself stays as it was.
    if (this.#mutedSince !== undefined) this.#mutedMs += Date.now() - this.#mutedSince;
    this.#mutedSince = undefined;
    this.#closed = true;
    for (const t of this.#transports.values()) t.close();
    this.#transports.clear();
    this.#pipe?.close();
    this.#consumers.clear();
    this.#ready.clear();
    this.#producer = undefined;
    this.emit('close', reason);
  }
}
