// Rooms across nodes (Jitsi's Octo idea on mediasoup PipeTransports). When a
// room has cluster.maxParticipantsPerNodePerRoom people on a node of it (its
// owner, or a satellite), that node sends further joiners (WRONG_NODE) to a
// node of the room with a free seat, or to a new live node, and writes that
// node into chorus:span:<room> (a set, with the lease's TTL; spanSeats.ts);
// that node then serves joins of the room as a *satellite* (satellite.ts)
// instead of redirecting them to the owner, and attaches it to the owner's
// room (spanOwner.ts). Node-to-node requests go over Redis pub/sub (nodeLink.ts).
//
// Satellites do not own the room (no lease); each has the same cap, so a
// room grows onto a third node and more, and past the cap only where no node
// is left. One satellite per room per node.
// What everyone sees of everyone across the nodes (roster, mute, hands, chat,
// moderation) is spanState.ts; an admin's close reaches the satellites as one.
// When the owner node dies a satellite takes the room over, and when a
// satellite node dies the owner drops it (spanWatch.ts).
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { Room, RoomCloseReason } from '../rooms/room.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { NodeLink } from './nodeLink.ts';
import type { NodeRegistry } from './nodeRegistry.ts';
import { type PipeListen, pipeAddress, rtpParameters } from './pipeLink.ts';
import type { NodeInfo } from './placement.ts';
import type { ClusterRedis } from './redis.ts';
import { Satellite } from './satellite.ts';
import { SpanSeats, seatFor, spanKey } from './spanSeats.ts';
import { SatelliteAttachment } from './spanOwner.ts';
import { SpanState } from './spanState.ts';

export { spanKey } from './spanSeats.ts';

/** What the ClusterRouter asks of rooms across nodes. */
export interface RoomSpanning {
  /** The room is open here: a node to send this joiner (`identity`) to instead (the room is at its cap here), if any. */
  overflow(room: string, identity: string): Promise<NodeInfo | undefined>;
  /** The room is owned by live `owner`: whether this node serves it as a satellite (the owner sent joiners here). */
  joinAsSatellite(room: string, owner: string): Promise<boolean>;
  /** The room is open here as a satellite (its lease is the owner's, not ours). */
  isSatellite(room: string): boolean;
}

const roomName = z.strictObject({ room: z.string() });
const roomClosed = z.strictObject({ room: z.string(), reason: z.enum(['empty', 'workerDied', 'serverShutdown', 'closedByAdmin']).optional() });
const attach = z.strictObject({ room: z.string(), pipe: pipeAddress });
const produce = z.strictObject({
  room: z.string(),
  consumerId: z.string(),
  producerId: z.string(),
  participantId: z.string(),
  identity: z.string(),
  displayName: z.string(),
  rtpParameters,
});
const consumerClosed = z.strictObject({ room: z.string(), consumerId: z.string() });
const speaker = z.strictObject({
  room: z.string(),
  participantId: z.string(),
  identity: z.string(),
  displayName: z.string(),
  producerId: z.string(),
  rtpParameters,
});
const speakerGone = z.strictObject({ room: z.string(), participantId: z.string() });

export interface OctoOptions {
  maxParticipantsPerNodePerRoom: number;
  leaseMs: number;
  pipe: PipeListen;
}

export class Octo implements RoomSpanning {
  /** Satellites here, by room. */
  readonly #satellites = new Map<string, Satellite>();
  /** Rooms this node was told to serve as satellites, and their owners, until they open here. */
  readonly #pending = new Map<string, string>();
  /** The owner's ends: by room, then satellite node. */
  readonly #attached = new Map<string, Map<string, SatelliteAttachment>>();
  /** The room's people across its nodes. */
  readonly #state: SpanState;
  readonly #seats: SpanSeats;

  constructor(
    readonly redis: ClusterRedis,
    readonly link: NodeLink,
    readonly nodes: NodeRegistry,
    readonly rooms: RoomRegistry,
    readonly options: OctoOptions,
    readonly log: Logger,
  ) {
    this.#state = new SpanState(link, nodes, log);
    this.#seats = new SpanSeats(redis.client, options.leaseMs);
  }

  get #on(): boolean {
    return this.options.maxParticipantsPerNodePerRoom > 0;
  }

  start(): void {
    this.rooms.on('roomOpened', (room) => {
      const owner = this.#pending.get(room.name);
      if (owner !== undefined) this.#openSatellite(room, owner);
    });
    this.rooms.on('roomClosed', (room, reason) => this.#ownerClosed(room, reason));
    this.#state.start();
    const l = this.link;
    // Owner side.
    l.handle('attach', (body, from) => this.#attach(attach.parse(body), from));
    l.handle('speaker', async (body, from) => {
      const s = speaker.parse(body);
      await this.#attachment(s.room, from).addSpeaker(s);
    });
    l.handle('speakerGone', async (body, from) => {
      const s = speakerGone.parse(body);
      this.#attached.get(s.room)?.get(from)?.removeSpeaker(s.participantId);
    });
    l.handle('detach', async (body, from) => {
      const { room } = roomName.parse(body);
      this.#detach(room, from);
    });
    // Satellite side.
    l.handle('produce', async (body, from) => {
      const v = produce.parse(body);
      await this.#satellite(v.room, from).produce(v);
    });
    l.handle('consumerClosed', async (body, from) => {
      const c = consumerClosed.parse(body);
      const sat = this.#satellites.get(c.room);
      if (sat?.owner === from) sat.dropVoice(c.consumerId);
    });
    l.handle('roomClosed', async (body, from) => {
      const { room, reason } = roomClosed.parse(body);
      // An admin's close ends the call; otherwise its people rejoin, wherever the room is now.
      if (this.#satellites.get(room)?.owner === from) this.closeSatellite(room, reason === 'closedByAdmin' ? 'closedByAdmin' : 'serverShutdown');
    });
  }

  async overflow(name: string, identity: string): Promise<NodeInfo | undefined> {
    const room = this.rooms.rooms.get(name);
    const cap = this.options.maxParticipantsPerNodePerRoom;
    // Under the cap here, or full room-wide (ROOM_FULL from here): served here.
    if (!this.#on || !room || room.participants.size < cap || room.full) return undefined;
    const sat = this.#satellites.get(name);
    // A satellite opening, or not attached yet, knows nobody's count: it serves its joiners.
    if (this.#pending.has(name) || (sat && !sat.attached)) return undefined;
    const self = this.nodes.id;
    if (await this.#seats.take(name, self, identity)) return undefined; // sent here: served, whatever our count
    const people = new Map([[self, room.participants.size]]);
    for (const node of [...(sat ? [sat.owner] : []), ...(this.#attached.get(name)?.keys() ?? []), ...room.elsewhere.nodes()]) {
      people.set(node, room.elsewhere.count(node));
    }
    const target = seatFor({ self, owner: sat?.owner ?? self, cap, people, live: this.nodes.nodes });
    if (!target) return undefined; // nowhere else: it grows here
    await this.#seats.send(name, target.id, identity);
    this.log.info('room at its cap here: joiner sent to another node of it', { room: name, node: target.id, new: !people.has(target.id) });
    return target;
  }

  async joinAsSatellite(name: string, owner: string): Promise<boolean> {
    if (!this.#on || this.nodes.draining) return false;
    if (!(await this.redis.client.sismember(spanKey(name), this.nodes.id))) return false;
    this.#pending.set(name, owner);
    return true;
  }

  isSatellite(name: string): boolean {
    return this.#satellites.has(name) || this.#pending.has(name);
  }

  /** Owner side: what this node pipes to each satellite of `room` (admin API). */
  satellitesOf(name: string): { node: string; piped: { participantId: string; running: boolean }[] }[] {
    return [...(this.#attached.get(name)?.values() ?? [])].map((a) => ({ node: a.node, piped: a.piped() }));
  }

  /** Satellite side: the owner of `room` when it is a satellite here, the voices it gets (mirrors) and those it sends now. */
  satelliteHere(name: string): { owner: string; voices: number; sending: number } | undefined {
    const sat = this.#satellites.get(name);
    return sat ? { owner: sat.owner, voices: sat.voices, sending: sat.sending } : undefined;
  }

  /** Satellite side: the satellites here attached to their owners (spanWatch.ts). */
  satelliteRooms(): { room: string; owner: string }[] {
    return [...this.#satellites.values()].filter((s) => s.attached && !s.closed).map((s) => ({ room: s.room.name, owner: s.owner }));
  }

  /** Satellite side: its owner died and this node took `room` over: the satellite leaves the owner (pipe, mirrors), the room stays. */
  leaveOwner(name: string): boolean {
    const sat = this.#satellites.get(name);
    if (!sat || sat.room.closed) return false;
    this.#state.ownerGone(name); // everyone the owner told us of leaves the roster here
    sat.close(false);
    return true;
  }

  /**
   * Satellite side: the room closes here (the owner closed it, or another node has it now): its
   * people rejoin, wherever the room is now (serverShutdown), or leave with the owner's (closedByAdmin).
   */
  closeSatellite(name: string, reason: 'serverShutdown' | 'closedByAdmin' = 'serverShutdown'): void {
    const sat = this.#satellites.get(name);
    if (!sat) return;
    sat.close(false);
    sat.room.close(reason);
  }

  /** Owner side: the nodes with a satellite of a room here. */
  satelliteNodes(): Set<string> {
    return new Set([...this.#attached.values()].flatMap((byNode) => [...byNode.keys()]));
  }

  /** Owner side: `node` is gone (no heartbeat): its satellites' attachments go now, not when requests to it time out. */
  nodeGone(node: string): void {
    for (const name of [...this.#attached.keys()]) this.#detach(name, node);
  }

  #openSatellite(room: Room, owner: string): void {
    let sat: Satellite | undefined;
    const opening = Satellite.open(room, owner, this.options.pipe, this.link, this.log, {
      onMade: (s) => {
        sat = s;
        this.#satellites.set(room.name, s);
        this.#state.satellite(room, owner);
      },
      onClosed: () => {
        if (this.#satellites.get(room.name) === sat) this.#satellites.delete(room.name);
        this.#state.satelliteClosed(room.name);
        this.redis.client.srem(spanKey(room.name), this.nodes.id).catch(() => {});
      },
    });
    // Pending (a satellite: no lease of ours) from the redirect until it is made.
    opening.catch(() => {}).finally(() => this.#pending.delete(room.name));
  }

  #satellite(name: string, owner: string): Satellite {
    const sat = this.#satellites.get(name);
    if (!sat || sat.owner !== owner) throw new Error(`no satellite of room ${name} here`);
    return sat;
  }

  #attachment(name: string, node: string): SatelliteAttachment {
    const a = this.#attached.get(name)?.get(node);
    if (!a || a.closed) throw new Error(`node ${node} is not attached to room ${name}`);
    return a;
  }

  async #attach({ room: name, pipe }: z.infer<typeof attach>, from: string) {
    const room = this.rooms.rooms.get(name);
    if (!room || room.closed || this.isSatellite(name)) throw new Error(`room ${name} is not open on its owner`);
    this.#detach(name, from); // a satellite there opened again
    const { attachment, pipe: ours } = await SatelliteAttachment.open(room, from, pipe, this.options.pipe, this.link, this.log);
    let byNode = this.#attached.get(name);
    if (!byNode) this.#attached.set(name, (byNode = new Map()));
    byNode.set(from, attachment);
    room.once('close', () => attachment.close());
    this.#state.attached(room, from);
    this.log.info('satellite attached to a room here', { room: name, node: from });
    return { pipe: ours };
  }

  /** Owner side: the satellite on `node` is gone. */
  #detach(name: string, node: string): void {
    const byNode = this.#attached.get(name);
    const a = byNode?.get(node);
    if (!a) return;
    a.close();
    byNode!.delete(node);
    if (byNode!.size === 0) this.#attached.delete(name);
    this.#state.detached(name, node);
    this.log.info('satellite detached from a room here', { room: name, node });
  }

  /** Owner side: the room closed here: its satellites close too, for the same reason. */
  #ownerClosed(room: Room, reason: RoomCloseReason): void {
    const byNode = this.#attached.get(room.name);
    if (!byNode) return;
    this.#attached.delete(room.name);
    for (const [node, a] of byNode) {
      if (a.room !== room) continue;
      a.close();
      this.link.tell(node, 'roomClosed', { room: room.name, reason });
    }
  }

  /** Stops: satellites here detach, satellites of rooms here are told they closed. */
  close(): void {
    for (const sat of [...this.#satellites.values()]) sat.close(true);
    for (const [name, byNode] of this.#attached) {
      for (const [node, a] of byNode) {
        a.close();
        this.link.tell(node, 'roomClosed', { room: name });
      }
    }
    this.#attached.clear();
  }
}
