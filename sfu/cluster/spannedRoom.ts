// One room spanning nodes, on this node (spanState.ts says how the nodes
// share what everyone sees): as its owner, or as a satellite of `owner`. It
// turns the room's events (its own people's changes) into `spanState`
// messages for its peers (the owner: every satellite; a satellite: the
// owner, once its snapshot went), applies what its peers say to the room's
// PeopleElsewhere, chat and removed identities (the owner passing each
// satellite's word on to the others), replaces a session here whose identity
// joined another node later (snapshots too: of two, the later join stays on
// both nodes, as on one node), and carries a moderator's action on
// someone elsewhere to their node. Made by SpanState when the room first
// spans nodes here; close() when the room closes or this part of it detaches.
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Participant } from '../rooms/participant.ts';
import { type ModeratorAction, type PersonElsewhere, moderate as moderateHere } from '../rooms/peopleElsewhere.ts';
import type { Room } from '../rooms/room.ts';
import type { NodeLink } from './nodeLink.ts';
import { MAX_REMOVED, type ModerateRequest, type SpanMessage, nodesOf } from './spanMessages.ts';

/** Someone here as the other nodes know them. */
const personOf = (p: Participant): PersonElsewhere => ({ ...p.info(), identity: p.identity, joinedAt: p.joinedAt.toISOString() });

/** A message without its room (the room adds it). */
type Body = SpanMessage extends infer M ? (M extends SpanMessage ? Omit<M, 'room'> : never) : never;

/** One room spanning nodes, on this node: as its owner (`owner` undefined) or as a satellite of `owner`. */
export class SpannedRoom {
  /** Owner side: the satellites that hear our changes. */
  readonly #satellites = new Set<string>();
  /** Owner side: attached satellites thought gone (their node was not listed). */
  readonly #lost = new Set<string>();
  /** Satellite side: our snapshot went to the owner (our changes follow it), and the owner is live. */
  #ready = false;
  #closed = false;

  constructor(
    readonly room: Room,
    readonly self: string,
    readonly owner: string | undefined,
    readonly link: NodeLink,
    readonly log: Logger,
  ) {
    const node = self;
    room.on('participantJoined', (p) => this.#send({ kind: 'joined', node, person: personOf(p) }));
    room.on('participantLeft', (p, reason) => {
      // The owner's room closing closes its satellites (octo.ts): their people hear roomClosed, not each leave.
      if (this.owner === undefined && room.closed) return;
      this.#send({ kind: 'left', node, participantId: p.id, reason });
    });
    room.on('muted', (p) => this.#send({ kind: 'muted', node, participantId: p.id, muted: p.muted }));
    room.on('hands', () => this.#send({ kind: 'hands', node, hands: room.hands.list() }));
    room.on('chat', (message) => this.#send({ kind: 'chat', node, message }));
    room.on('removed', (identity) => this.#send({ kind: 'removed', node, identity }));
    room.elsewhere.ask = (on, participantId, action) => this.#ask(on, participantId, action);
  }

  /** The nodes this room hears from (for the liveness watch). */
  peers(): string[] {
    if (this.#closed) return [];
    const direct = this.owner !== undefined ? [this.owner] : [...this.#satellites, ...this.#lost];
    return [...new Set([...direct, ...this.room.elsewhere.nodes()])];
  }

  /** Owner side: a satellite attached. */
  attach(node: string): void {
    this.#lost.delete(node);
    this.#satellites.add(node);
    this.#sendSnapshot(node, true);
  }

  /** Owner side: the satellite on `node` detached. */
  detach(node: string): void {
    this.#satellites.delete(node);
    this.#lost.delete(node);
    this.#drop(node);
  }

  /** `node` is not listed any more: its people are gone (a satellite whose owner is gone: everyone it told us of). */
  lose(node: string): void {
    if (this.#closed) return;
    if (this.#satellites.delete(node)) this.#lost.add(node);
    if (node !== this.owner) return this.#drop(node);
    this.#ready = false;
    for (const n of this.room.elsewhere.nodes()) this.#drop(n);
  }

  /** Nobody on `node` any more: they leave the roster here (the owner tells the other satellites). */
  #drop(node: string): void {
    if (this.#closed) return;
    this.room.elsewhere.gone(node, 'disconnected');
    if (this.owner === undefined) for (const s of this.#satellites) this.#tell(s, { kind: 'gone', node, reason: 'disconnected' });
  }

  /** `node`, thought gone, is listed again: if it is still our peer, exchange snapshots again. */
  back(node: string): void {
    if (this.#closed) return;
    if (node === this.owner) this.#sendSnapshot(node, true);
    else if (this.#lost.has(node)) this.attach(node);
  }

  receive(m: SpanMessage, from: string): void {
    if (this.#closed) return;
    const about = nodesOf(m);
    if (this.owner !== undefined) {
      if (from !== this.owner) throw new Error(`node ${from} is not the owner of room ${this.room.name}`);
      if (about.includes(this.self)) throw new Error('a message about our own people');
    } else {
      if (!this.#satellites.has(from)) throw new Error(`node ${from} is not attached to room ${this.room.name}`);
      if (about.some((n) => n !== from)) throw new Error(`node ${from} speaks only for its own people`);
    }
    this.#apply(m);
    if (this.owner === undefined) {
      const relayed = m.kind === 'snapshot' ? { ...m, hello: false } : m;
      for (const s of this.#satellites) if (s !== from) this.link.tell(s, 'spanState', relayed);
    }
    if (m.kind === 'snapshot' && m.hello) this.#sendSnapshot(from, false);
  }

  #apply(m: SpanMessage): void {
    const e = this.room.elsewhere;
    switch (m.kind) {
      case 'snapshot':
        for (const n of m.nodes) for (const p of n.people) this.room.replacedElsewhere(p.identity, p.joinedAt);
        for (const n of m.nodes) e.replace(n.node, n.people, n.hands);
        for (const message of m.chat) this.room.addChat(message);
        for (const identity of m.removed) this.#refuse(identity);
        return;
      case 'joined':
        this.room.replacedElsewhere(m.person.identity, m.person.joinedAt); // a second session of one identity: the later one stays
        return e.joined(m.node, { ...m.person });
      case 'left':
        return e.left(m.node, m.participantId, m.reason);
      case 'muted':
        return e.muted(m.node, m.participantId, m.muted);
      case 'hands':
        return e.setHands(m.node, m.hands);
      case 'chat':
        return this.room.addChat(m.message);
      case 'removed':
        return this.#refuse(m.identity);
      case 'gone':
        return e.gone(m.node, m.reason);
    }
  }

  /** An identity removed elsewhere (bounded: a room refuses at most MAX_REMOVED identities from other nodes). */
  #refuse(identity: string): void {
    if (this.room.removed.has(identity) || this.room.removed.size >= MAX_REMOVED) return;
    this.room.refuse(identity);
  }

  /** A moderator elsewhere acts on `participantId`: here, or (owner) on the satellite they are on. */
  async moderate({ participantId, action }: ModerateRequest, from: string): Promise<void> {
    if (this.#closed) throw new ChorusError('NOT_FOUND', `room ${this.room.name} is closing`);
    if (this.owner !== undefined ? from !== this.owner : !this.#satellites.has(from)) {
      throw new Error(`node ${from} is not a peer of room ${this.room.name}`);
    }
    const target = this.room.participants.get(participantId);
    if (target) return moderateHere(this.room, target, action);
    const node = this.room.elsewhere.nodeOf(participantId);
    if (this.owner === undefined && node !== undefined && node !== from && this.#satellites.has(node)) {
      await this.link.request(node, 'moderate', { room: this.room.name, participantId, action });
      return;
    }
    throw new ChorusError('NOT_FOUND', `no participant ${participantId} in room ${this.room.name}`);
  }

  /** A moderator here acts on someone on `node`: asked of their node (a satellite asks its owner, who passes it on). */
  async #ask(node: string, participantId: string, action: ModeratorAction): Promise<void> {
    const to = this.owner ?? node;
    if (this.#closed || (this.owner === undefined && !this.#satellites.has(node))) {
      throw new ChorusError('NOT_FOUND', `no participant ${participantId} in room ${this.room.name}`);
    }
    await this.link.request(to, 'moderate', { room: this.room.name, participantId, action });
  }

  /** Everyone we speak for to `to` (the owner: itself and the other satellites; a satellite: itself). */
  #sendSnapshot(to: string, hello: boolean): void {
    const room = this.room;
    const here = { node: this.self, people: [...room.participants.values()].map(personOf), hands: room.hands.list() };
    const others = this.owner === undefined ? room.elsewhere.nodes().filter((n) => n !== to) : [];
    this.#tell(to, {
      kind: 'snapshot',
      nodes: [here, ...others.map((node) => ({ node, ...room.elsewhere.of(node) }))],
      chat: [...room.chat.history],
      removed: [...room.removed].slice(0, MAX_REMOVED),
      hello,
    });
    if (to === this.owner) this.#ready = true;
  }

  /** A change of our people: to the owner (once our snapshot went), or to every satellite. */
  #send(body: Body): void {
    if (this.#closed) return;
    if (this.owner !== undefined) {
      if (this.#ready) this.#tell(this.owner, body);
    } else for (const s of this.#satellites) this.#tell(s, body);
  }

  #tell(node: string, body: Body): void {
    this.link.tell(node, 'spanState', { room: this.room.name, ...body });
  }

  /**
   * Nothing more goes or comes. The room here is closing (its people are told
   * that): the people elsewhere go from its copy without a leave each.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.room.elsewhere.ask = undefined;
    this.room.elsewhere.forget();
  }
}
