// All rooms of this process, by name. Creating a room is serialized per name:
// two people joining a new room at the same moment land in the same room.
// The registry owns the rooms; it forwards their lifecycle as its own events
// (the session recorder listens to those).
import { EventEmitter } from 'node:events';
import type { Grant } from '../auth/tokens.ts';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { mediaCodecs } from '../media/codecs.ts';
import type { WorkerPool } from '../media/workerPool.ts';
import type { LeaveReason } from '../../protocol/messages.ts';
import type { Participant, PeerLink } from './participant.ts';
import { Room, type RoomCloseReason, type RoomOptions } from './room.ts';

export type RegistryEvents = {
  roomOpened: [Room];
  roomClosed: [Room, RoomCloseReason];
  participantJoined: [Room, Participant];
  participantLeft: [Room, Participant, LeaveReason];
};

export class RoomRegistry extends EventEmitter<RegistryEvents> {
  readonly #rooms = new Map<string, Room>();
  readonly #opening = new Map<string, Promise<Room>>();
  #closed = false;

  constructor(
    readonly pool: WorkerPool,
    readonly options: RoomOptions,
    readonly log: Logger,
  ) {
    super();
  }

  get rooms(): ReadonlyMap<string, Room> {
    return this.#rooms;
  }

  async join(grant: Grant, link: PeerLink, requestedAt = Date.now()): Promise<{ room: Room; participant: Participant }> {
    if (this.#closed) throw new ChorusError('SERVER_BUSY', 'this server is shutting down: try again in a moment');
    const room = await this.#getOrOpen(grant.room);
    return { room, participant: room.join(grant, link, requestedAt) };
  }

  #getOrOpen(name: string): Promise<Room> {
    const open = this.#rooms.get(name);
    if (open && !open.closed) return Promise.resolve(open);
    let opening = this.#opening.get(name);
    if (!opening) {
      opening = this.#open(name).finally(() => this.#opening.delete(name));
      this.#opening.set(name, opening);
    }
    return opening;
  }

  async #open(name: string): Promise<Room> {
    const { media, router } = await this.pool.createRouter(mediaCodecs);
    const room = await Room.create(name, media, router, this.options, this.log.child('room'));
    if (this.#closed) {
      room.close('serverShutdown');
      return room; // joining it fails with ROOM_CLOSED
    }
    this.#rooms.set(name, room);
    room.on('participantJoined', (p) => this.emit('participantJoined', room, p));
    room.on('participantLeft', (p, reason) => this.emit('participantLeft', room, p, reason));
    room.once('close', (reason) => {
      if (this.#rooms.get(name) === room) this.#rooms.delete(name);
      this.emit('roomClosed', room, reason);
    });
    this.log.info('room opened', { room: name, worker: media.index, pid: media.pid });
    this.emit('roomOpened', room);
    return room;
  }

  /** Closes every room (server shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#opening.values());
    for (const room of [...this.#rooms.values()]) room.close('serverShutdown');
  }
}
