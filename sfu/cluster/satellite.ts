// A satellite: this node's part of a room owned by another node (rooms across
// nodes, octo.ts). The room here is an ordinary Room with its own people; the
// satellite connects its PipeTransport to the owner's (`attach`), and then:
//   - the voices the owner forwards to this node arrive as `produce` requests:
//     a producer on the pipe, and a mirror of its person in the room, whose
//     listeners here consume it on demand like anyone's; `consumerClosed`
//     (the owner no longer sends it) closes both;
//   - every producer of someone here crosses to the owner (`speaker`, and
//     `speakerGone` when it closes), so the owner's observers rank them and
//     its listeners hear them.
// Closes when the room here closes (its last person left) — the owner is told
// (`detach`) — or when the owner says its room closed; the transport and the
// mirrors go with it. When the owner died and this node took the room over
// (spanWatch.ts), the satellite closes the same way and the room stays.
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import type { Participant } from '../rooms/participant.ts';
import type { Room } from '../rooms/room.ts';
import type { NodeLink } from './nodeLink.ts';
import { type PipeListen, addressOf, openPipe, pipeAddress } from './pipeLink.ts';
import { mirrorOn } from './spanOwner.ts';

export interface VoiceFromOwner {
  consumerId: string;
  producerId: string;
  participantId: string;
  identity: string;
  displayName: string;
  rtpParameters: types.RtpParameters;
}

export class Satellite {
  /** Mirrors of the owner's voices, by the owner's consumer id. */
  readonly #mirrors = new Map<string, Participant>();
  /** Pipe consumers of the producers here, crossing to the owner, by the id of the producer here. */
  readonly #sent = new Map<string, types.Consumer | undefined>();
  #attached = false;
  #closed = false;
  readonly #onProducer = (p: Participant, producer: types.Producer) => void this.#send(p, producer);
  readonly #onClose = () => this.close(true);

  private constructor(
    readonly room: Room,
    readonly owner: string,
    readonly transport: types.PipeTransport,
    readonly link: NodeLink,
    readonly log: Logger,
    readonly onClosed: () => void,
  ) {}

  /**
   * Attaches `room` (open here) to its owner's room; closes the room here if
   * that fails. `onMade` hears of the satellite before it asks the owner: the
   * owner's first voices may arrive before its answer.
   */
  static async open(room: Room, owner: string, listen: PipeListen, link: NodeLink, log: Logger, hooks: { onMade: (s: Satellite) => void; onClosed: () => void }): Promise<Satellite> {
    const transport = await openPipe(room.router, listen);
    const sat = new Satellite(room, owner, transport, link, log, hooks.onClosed);
    hooks.onMade(sat);
    // From now on: the room closing here detaches, people producing here cross (once attached).
    room.once('close', sat.#onClose);
    room.on('producer', sat.#onProducer);
    try {
      const answer = await link.request(owner, 'attach', { room: room.name, pipe: addressOf(transport) });
      await transport.connect(pipeAddress.parse((answer as { pipe: unknown }).pipe));
      sat.#attached = true;
    } catch (err) {
      log.warn('cannot attach a satellite to its owner: closing it', { room: room.name, owner, error: (err as Error).message });
      sat.close(false);
      room.close('serverShutdown'); // its people rejoin (and are sent to the owner)
      throw err;
    }
    log.info('satellite attached', { room: room.name, owner });
    for (const p of room.participants.values()) if (p.producer && !p.producer.closed) void sat.#send(p, p.producer);
    return sat;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connected to the owner's room (its answer to `attach` came). */
  get attached(): boolean {
    return this.#attached;
  }

  /** A producer of `p` crosses to the owner (on the primary router: a producer elsewhere is piped there first). */
  async #send(p: Participant, producer: types.Producer): Promise<void> {
    // Until the owner has answered `attach` nothing crosses (the first round after it sends every
    // producer here), and each producer crosses once: else one made while attaching crossed twice.
    if (this.#closed || !this.#attached || this.#sent.has(producer.id)) return;
    this.#sent.set(producer.id, undefined);
    try {
      const observable = await this.room.span.observable(p, producer);
      const consumer = await this.transport.consume({ producerId: observable.id });
      const body = { room: this.room.name, participantId: p.id };
      this.#sent.set(producer.id, consumer);
      consumer.observer.once('close', () => {
        this.#sent.delete(producer.id);
        if (!this.#closed) this.link.tell(this.owner, 'speakerGone', body);
      });
      await this.link.request(this.owner, 'speaker', {
        ...body,
        identity: p.identity,
        displayName: p.displayName,
        producerId: observable.id,
        rtpParameters: consumer.rtpParameters,
      });
    } catch (err) {
      const consumer = this.#sent.get(producer.id);
      if (consumer) consumer.close(); // the owner has no mirror of it: nothing to pipe
      else this.#sent.delete(producer.id);
      this.log.debug('a speaker here did not reach the owner', { room: this.room.name, participant: p.id, error: (err as Error).message });
    }
  }

  /** The owner sends us one of its voices: its producer here and its mirror in the room. */
  async produce(v: VoiceFromOwner): Promise<void> {
    if (this.#closed) throw new Error('this satellite is closed');
    const mirror = await mirrorOn(this.transport, this.owner, v);
    mirror.once('close', () => {
      if (this.#mirrors.get(v.consumerId) === mirror) this.#mirrors.delete(v.consumerId);
    });
    this.#mirrors.set(v.consumerId, mirror);
    await this.room.addRemote(mirror);
  }

  /** The owner no longer sends that voice. */
  dropVoice(consumerId: string): void {
    this.#mirrors.get(consumerId)?.close('left');
  }

  /** Mirrors here now (for the admin API and tests). */
  get voices(): number {
    return this.#mirrors.size;
  }

  /** Voices of people here crossing to the owner now (their producers not paused). */
  get sending(): number {
    return [...this.#sent.values()].filter((c) => c && !c.paused && !c.producerPaused).length;
  }

  /** Closes the transport and the mirrors; `tellOwner`: detach there (not when the owner closed the room). */
  close(tellOwner: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.room.off('producer', this.#onProducer);
    this.room.off('close', this.#onClose);
    for (const m of [...this.#mirrors.values()]) m.close('left');
    this.transport.close();
    if (tellOwner) this.link.tell(this.owner, 'detach', { room: this.room.name });
    this.log.info('satellite closed', { room: this.room.name, owner: this.owner });
    this.onClosed();
  }
}
