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
// Lifecycle: a room is followed (spannedRoom.ts) from its first attachment
// (owner) or from its satellite's making (satellite) until it closes.
import type { z } from 'zod';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Room } from '../rooms/room.ts';
import type { NodeLink } from './nodeLink.ts';
import type { NodeRegistry } from './nodeRegistry.ts';
import { moderateRequest, spanMessage } from './spanMessages.ts';
import { SpannedRoom } from './spannedRoom.ts';

/** Heartbeat lists in a row without a node before its people are gone (one may miss it: Redis just restarted empty). */
const ABSENT_LISTS = 2;

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

  /**
   * Satellite side: the owner of `name` died and this node took the room over (spanWatch.ts): the
   * people it told us of leave the roster here ('disconnected'), as when a node is gone; the room stays.
   */
  ownerGone(name: string): void {
    const r = this.#rooms.get(name);
    if (r?.owner === undefined) return;
    r.lose(r.owner);
    r.close();
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

  /** `body` as `schema` has it, or logged and refused (the sender is answered with an error). */
  #check<T extends z.ZodType>(schema: T, body: unknown, from: string, what: string): z.infer<T> {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    this.log.warn(`span state: malformed ${what} dropped`, { from, error: parsed.error.issues[0]?.message });
    throw new Error(`malformed ${what}`);
  }

  async #receive(body: unknown, from: string): Promise<void> {
    const m = this.#check(spanMessage, body, from, 'spanState message');
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
    const request = this.#check(moderateRequest, body, from, 'moderate request');
    const r = this.#rooms.get(request.room);
    if (!r) throw new ChorusError('NOT_FOUND', `room ${request.room} does not span this node`);
    await r.moderate(request, from);
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
