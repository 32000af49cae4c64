// One call across the nodes of a room (rooms across nodes, octo.ts): what
// everyone sees of everyone — the roster with mute state, raised hands, chat,
// removed identities — and a moderator's actions on someone on another node.
// (Voices cross in satellite.ts and spanOwner.ts; levels and the dominant
// speaker come from each node's observers, which hear the mirrors.)
//
// Each node is the authority for its own people: a change here (the room's
// events) goes to the other nodes as a `spanState` message (spanMessages.ts),
// which they apply to their copy (the room's PeopleElsewhere). Messages go in a
// star through the owner: a satellite tells its owner, the owner tells every
// satellite its own changes and each satellite's changes to the others. A
// star because the owner is the one node that knows every satellite (they
// attach to it): each satellite trusts one peer, its owner, and the owner only
// the nodes attached to it; two satellites of one room (rare) pay one more hop.
// A moderator's request for someone elsewhere (`moderate`) takes the same path
// and comes back with that node's answer (NOT_FOUND, INVALID_STATE…).
//
// Handshake: when a satellite attaches, the owner sends it a snapshot (everyone
// else, the chat history, the removed identities) with `hello`; the satellite
// applies it, answers with its own snapshot and from then on sends its changes.
// Messages from one node arrive in the order sent (one Redis connection
// publishes them) and are applied at once, so a change never overtakes the
// snapshot before it. Every message is schema-checked and checked against who
// may send it (a satellite speaks only for its own people); a bad one is logged
// and dropped. A node the NodeRegistry stops listing (ABSENT_LISTS heartbeats
// in a row) is gone: its people leave everyone's roster ('disconnected'); if it
// is listed again, the snapshots are exchanged again.
//
// Lifecycle: a room is followed from its first attachment (owner) or from its
// satellite's making (satellite) until it closes.
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Participant } from '../rooms/participant.ts';
import type { ModeratorAction } from '../rooms/peopleElsewhere.ts';
import type { Room } from '../rooms/room.ts';
import type { NodeLink } from './nodeLink.ts';
import type { NodeRegistry } from './nodeRegistry.ts';
import { MAX_REMOVED, type ModerateRequest, type SpanMessage, moderateRequest, nodesOf, spanMessage } from './spanMessages.ts';

/** Heartbeat lists in a row without a node before its people are gone (one may miss it: Redis just restarted empty). */
const ABSENT_LISTS = 2;

type Body = SpanMessage extends infer M ? (M extends SpanMessage ? Omit<M, 'room'> : never) : never;

export class SpanState {
  readonly #rooms = new Map<string, SpannedRoom>();
  /** Nodes missing from the live list, and for how many lists in a row. */
  readonly #absent = new Map<string, number>();

  constructor(
    readonly link: NodeLink,
    readonly nodes: NodeRegistry,
    readonly log: Logger,
  ) {}

  start(): void {
    this.link.handle('spanState', async (body, from) => this.#receive(body, from));
    this.link.handle('moderate', async (body, from) => this.#moderate(body, from));
    this.nodes.watch((live) => this.#seen(new Set(live.map((n) => n.id))));
  }

  /** Owner side: the satellite on `node` attached to `room`; it gets our snapshot, then our changes. */
  attached(room: Room, node: string): void {
    this.#follow(room, undefined)?.attach(node);
  }

  /** Owner side: the satellite on `node` detached; its people leave everyone's roster. */
  detached(name: string, node: string): void {
    this.#rooms.get(name)?.detach(node);
  }

  /** Satellite side: `room` here is part of `owner`'s (known before it attaches: the owner's snapshot may come first). */
  satellite(room: Room, owner: string): void {
    this.#follow(room, owner);
  }

  /** Satellite side: this node's part of `name` is no longer attached: nothing more goes or comes. */
  satelliteClosed(name: string): void {
    const r = this.#rooms.get(name);
    if (r?.owner !== undefined) r.close();
  }

  #follow(room: Room, owner: string | undefined): SpannedRoom | undefined {
    if (room.closed) return undefined;
    const known = this.#rooms.get(room.name);
    if (known?.room === room && known.owner === owner) return known;
    known?.close();
    const r = new SpannedRoom(room, this.nodes.id, owner, this.link, this.log);
    this.#rooms.set(room.name, r);
    room.once('close', () => {
      r.close();
      if (this.#rooms.get(room.name) === r) this.#rooms.delete(room.name);
    });
    return r;
  }

  async #receive(body: unknown, from: string): Promise<void> {
    const parsed = spanMessage.safeParse(body);
    if (!parsed.success) {
      this.log.warn('span state: malformed message dropped', { from, error: parsed.error.issues[0]?.message });
      throw new Error('malformed spanState message');
    }
    const m = parsed.data;
    const r = this.#rooms.get(m.room);
    if (!r) return void this.log.debug('span state: message for a room not spanned here dropped', { from, room: m.room });
    try {
      r.receive(m, from);
    } catch (err) {
      this.log.warn('span state: message dropped', { from, room: m.room, kind: m.kind, error: (err as Error).message });
      throw err;
    }
  }

  async #moderate(body: unknown, from: string): Promise<void> {
    const parsed = moderateRequest.safeParse(body);
    if (!parsed.success) {
      this.log.warn('span state: malformed moderate request dropped', { from, error: parsed.error.issues[0]?.message });
      throw new Error('malformed moderate request');
    }
    const r = this.#rooms.get(parsed.data.room);
    if (!r) throw new ChorusError('NOT_FOUND', `room ${parsed.data.room} does not span this node`);
    await r.moderate(parsed.data, from);
  }

  /** A heartbeat's live list: nodes missing from it ABSENT_LISTS times are gone; those back are asked again. */
  #seen(live: ReadonlySet<string>): void {
    for (const [node] of this.#absent) {
      if (!live.has(node)) continue;
      this.#absent.delete(node);
      for (const r of this.#rooms.values()) r.back(node);
    }
    const known = new Set([...this.#rooms.values()].flatMap((r) => r.peers()));
    for (const node of this.#absent.keys()) if (!known.has(node)) this.#absent.delete(node);
    for (const node of known) {
      if (live.has(node)) continue;
      const lists = (this.#absent.get(node) ?? 0) + 1;
      this.#absent.set(node, lists);
      if (lists !== ABSENT_LISTS) continue;
      this.log.info('a node of rooms spanning nodes is gone: its people leave them', { node });
      for (const r of this.#rooms.values()) r.lose(node);
    }
  }
}

/** One room spanning nodes, on this node: as its owner (`owner` undefined) or as a satellite of `owner`. */
class SpannedRoom {
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
    room.on('participantJoined', (p) => this.#send({ kind: 'joined', node, person: p.info() }));
    room.on('participantLeft', (p, reason) => this.#send({ kind: 'left', node, participantId: p.id, reason }));
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
        for (const n of m.nodes) e.replace(n.node, n.people, n.hands);
        for (const message of m.chat) this.room.addChat(message);
        for (const identity of m.removed) this.#refuse(identity);
        return;
      case 'joined':
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
    if (target) return this.#doHere(target, action);
    const node = this.room.elsewhere.nodeOf(participantId);
    if (this.owner === undefined && node !== undefined && node !== from && this.#satellites.has(node)) {
      await this.link.request(node, 'moderate', { room: this.room.name, participantId, action });
      return;
    }
    throw new ChorusError('NOT_FOUND', `no participant ${participantId} in room ${this.room.name}`);
  }

  async #doHere(target: Participant, action: ModeratorAction): Promise<void> {
    if (action.kind === 'forceMute') await this.room.forceMute(target, action.allowUnmute);
    else if (action.kind === 'remove') this.room.remove(target);
    else this.room.lowerHand(target, true);
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
    const here = { node: this.self, people: [...room.participants.values()].map((p) => p.info()), hands: room.hands.list() };
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

  /** Nothing more goes or comes; the people elsewhere leave the roster here. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.room.elsewhere.ask = undefined;
    for (const node of this.room.elsewhere.nodes()) this.room.elsewhere.gone(node, 'disconnected');
  }
}
