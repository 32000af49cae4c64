// A room's view of its people on other nodes (a room spanning nodes; kept up
// to date by sfu/cluster/spanState.ts): who is on each node (with the
// identity and join time their node gave, never told to clients), whether
// they are muted, and their raised hands. Each node is the authority for its own people:
// this is a copy, changed only by what their node says, and every change is
// told to the people here as it would be for someone here (participantJoined,
// participantLeft with their node's reason, producerPaused/Resumed, the room's
// raisedHands queue). A mirror of one of them (their voice piped here) takes
// their mute, so forwarding ranks it as theirs. A moderator's action on one
// of them goes to their node (`act`, carried by `ask`). Its counts make the
// room's bounds room-wide (maxParticipants, the per-node cap of octo.ts).
//
// Bounded, whatever another node sends: at most MAX_NODES nodes, each with at
// most the room's maxParticipants people, hands only of those people. Owned
// by its Room and forgotten with it.
import { ChorusError } from '../errors.ts';
import type { LeaveReason, NotificationData, NotificationName, ParticipantInfo, RaisedHand } from '../../protocol/messages.ts';
import type { Participant } from './participant.ts';

/** Other nodes a room keeps people of (one owner and its satellites). */
export const MAX_NODES = 32;

/** What a moderator may do to someone: here, or on their node. */
export type ModeratorAction = { kind: 'forceMute'; allowUnmute: boolean } | { kind: 'remove' } | { kind: 'lowerHand' };

/** Carries a moderator's action to the node `node` the person is on (the cluster's part). */
export type AskNode = (node: string, participantId: string, action: ModeratorAction) => Promise<void>;

/** What a moderator's action needs of the room of the person it is for. */
export interface ModeratedRoom {
  forceMute(target: Participant, allowUnmute: boolean): Promise<void>;
  remove(target: Participant): void;
  lowerHand(target: Participant, byOther: boolean): void;
}

/** A moderator's action on `target`, someone in `room` on this node (the moderator is here or elsewhere). */
export async function moderate(room: ModeratedRoom, target: Participant, action: ModeratorAction): Promise<void> {
  if (action.kind === 'forceMute') await room.forceMute(target, action.allowUnmute);
  else if (action.kind === 'remove') room.remove(target);
  else room.lowerHand(target, true);
}

/** What the view needs of its room. */
export interface ElsewhereHost {
  readonly name: string;
  /** People per node at most (the room's maxParticipants). */
  readonly maxPeople: number;
  /** Tells everyone here. */
  broadcast<N extends NotificationName>(name: N, data: NotificationData<N>): void;
  /** Someone of that id is here (nobody elsewhere may shadow them). */
  isHere(id: string): boolean;
  /** The mirror of someone elsewhere (their voice piped here), if any. */
  mirror(id: string): Participant | undefined;
  /** A mirror's mute changed: forwarding ranks again. */
  mirrorMuted(): void;
  /** Hands elsewhere changed: tell everyone here the room's queue. */
  handsChanged(): void;
}

/** Someone on another node: what clients are told of them, and what only the nodes know (for replacing a second session). */
export interface PersonElsewhere extends ParticipantInfo {
  /** Their join token's identity. */
  identity: string;
  /** When they joined their node (ISO time). */
  joinedAt: string;
}

/** What clients are told of someone elsewhere (not their identity or join time). */
const infoOf = ({ id, displayName, role, muted }: PersonElsewhere): ParticipantInfo => ({ id, displayName, role, muted });

interface NodeView {
  people: Map<string, PersonElsewhere>;
  hands: RaisedHand[];
}

/** One queue from several (each first raised first): by time, then id, so every node orders it the same. */
export function mergeHands(...lists: readonly RaisedHand[][]): RaisedHand[] {
  const all = lists.flat();
  if (lists.filter((l) => l.length > 0).length < 2) return all;
  return all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.participantId < b.participantId ? -1 : 1));
}

export class PeopleElsewhere {
  readonly #nodes = new Map<string, NodeView>();
  /** Set while the room spans nodes. */
  ask?: AskNode;

  constructor(readonly host: ElsewhereHost) {}

  /** Everyone elsewhere, node by node, as clients are told of them. */
  list(): ParticipantInfo[] {
    return [...this.#nodes.values()].flatMap((v) => [...v.people.values()].map(infoOf));
  }

  /** Everyone elsewhere with their node (the admin API). */
  everyone(): (PersonElsewhere & { node: string })[] {
    return [...this.#nodes].flatMap(([node, v]) => [...v.people.values()].map((p) => ({ ...p, node })));
  }

  /** How many people are on `node`, or on every other node. */
  count(node?: string): number {
    if (node !== undefined) return this.#nodes.get(node)?.people.size ?? 0;
    let n = 0;
    for (const v of this.#nodes.values()) n += v.people.size;
    return n;
  }

  /** Whether someone of `identity` is on another node. */
  hasIdentity(identity: string): boolean {
    for (const v of this.#nodes.values()) for (const p of v.people.values()) if (p.identity === identity) return true;
    return false;
  }

  /** The nodes that have people here. */
  nodes(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Who is on `node`, and their hands (for another node's snapshot). */
  of(node: string): { people: PersonElsewhere[]; hands: RaisedHand[] } {
    const v = this.#nodes.get(node);
    return { people: v ? [...v.people.values()] : [], hands: v ? [...v.hands] : [] };
  }

  /** The node `id` is on, if they are elsewhere. */
  nodeOf(id: string): string | undefined {
    for (const [node, v] of this.#nodes) if (v.people.has(id)) return node;
    return undefined;
  }

  /** The room's queue: the hands here (`here`) and elsewhere. */
  hands(here: RaisedHand[]): RaisedHand[] {
    return mergeHands(here, ...[...this.#nodes.values()].map((v) => v.hands));
  }

  /** Someone joined on `node`. */
  joined(node: string, person: PersonElsewhere): void {
    const v = this.#view(node);
    if (!v || v.people.has(person.id) || v.people.size >= this.host.maxPeople) return;
    if (this.host.isHere(person.id) || this.nodeOf(person.id) !== undefined) return;
    v.people.set(person.id, person);
    this.host.broadcast('participantJoined', { participant: infoOf(person) });
    this.#muteMirror(person);
  }

  /** Someone on `node` left (`reason`: their node's). */
  left(node: string, id: string, reason: LeaveReason): void {
    const v = this.#nodes.get(node);
    if (!v?.people.delete(id)) return;
    this.host.broadcast('participantLeft', { participantId: id, reason });
    const hands = v.hands.filter((h) => h.participantId !== id);
    if (hands.length !== v.hands.length) {
      v.hands = hands;
      this.host.handsChanged();
    }
    if (v.people.size === 0 && v.hands.length === 0) this.#nodes.delete(node);
  }

  /** Someone on `node` muted or unmuted (themselves, or a moderator did). */
  muted(node: string, id: string, muted: boolean): void {
    const people = this.#nodes.get(node)?.people;
    const was = people?.get(id);
    if (!people || !was || was.muted === muted) return;
    // A new entry (what was told before, kept for a resume, stays as it was).
    const info = { ...was, muted };
    people.set(id, info);
    this.host.broadcast(muted ? 'producerPaused' : 'producerResumed', { participantId: id });
    this.#muteMirror(info);
  }

  /** The hands raised on `node` now, first raised first (only its people's count). */
  setHands(node: string, hands: readonly RaisedHand[]): void {
    const v = this.#nodes.get(node);
    if (!v) return;
    const seen = new Set<string>();
    const mine = hands.filter((h) => v.people.has(h.participantId) && !seen.has(h.participantId) && seen.add(h.participantId));
    if (JSON.stringify(mine) === JSON.stringify(v.hands)) return;
    v.hands = mine;
    this.host.handsChanged();
  }

  /**
   * `node` says who is there now (when it attaches, or after it was thought
   * gone): the differences are told as joins, leaves and mutes.
   */
  replace(node: string, people: readonly PersonElsewhere[], hands: readonly RaisedHand[]): void {
    const now = new Map(people.map((p) => [p.id, p]));
    const v = this.#nodes.get(node);
    for (const id of [...(v?.people.keys() ?? [])]) if (!now.has(id)) this.left(node, id, 'disconnected');
    for (const p of people) {
      if (v?.people.has(p.id)) this.muted(node, p.id, p.muted);
      else this.joined(node, { ...p });
    }
    this.setHands(node, hands);
  }

  /** Nobody is on `node` any more (its part of the room closed, or the node died). */
  gone(node: string, reason: LeaveReason): void {
    const v = this.#nodes.get(node);
    if (!v) return;
    this.#nodes.delete(node);
    for (const id of v.people.keys()) this.host.broadcast('participantLeft', { participantId: id, reason });
    if (v.hands.length > 0) this.host.handsChanged();
  }

  /** This part of the room no longer hears the other nodes (it is closing): their people go, untold. */
  forget(): void {
    this.#nodes.clear();
  }

  /** A mirror joined the room's forwarding: it takes its person's mute. */
  mirrorAdded(mirror: Participant): void {
    for (const v of this.#nodes.values()) {
      const info = v.people.get(mirror.id);
      if (info) mirror.mirrorMuted(info.muted);
    }
  }

  /**
   * A moderator's (or admin's) action on someone elsewhere, done by their node
   * (NOT_FOUND: nobody of that id anywhere; CLUSTER_UNAVAILABLE, naming it: their node did not answer).
   */
  async act(participantId: string, action: ModeratorAction): Promise<void> {
    const node = this.nodeOf(participantId);
    if (node === undefined || !this.ask) throw new ChorusError('NOT_FOUND', `no participant ${participantId} in room ${this.host.name}`);
    try {
      await this.ask(node, participantId, action);
    } catch (err) {
      if (err instanceof ChorusError) throw err; // their node's answer
      throw new ChorusError('CLUSTER_UNAVAILABLE', `participant ${participantId} is on node ${node}, which did not answer: try again (${(err as Error).message})`);
    }
  }

  #view(node: string): NodeView | undefined {
    let v = this.#nodes.get(node);
    if (!v && this.#nodes.size < MAX_NODES) this.#nodes.set(node, (v = { people: new Map(), hands: [] }));
    return v;
  }

  #muteMirror(info: { id: string; muted: boolean }): void {
    const mirror = this.host.mirror(info.id);
    if (mirror?.mirrorMuted(info.muted)) this.host.mirrorMuted();
  }
}
