// All rooms of this process, by name. Creating a room is serialized per name:
// two people joining a new room at the same moment land in the same room.
// The registry owns the rooms and gives them their routers (from the worker
// pool: when a room opens, and when it moves off a dead worker); it forwards
// their lifecycle as its own events (the session recorder listens to those).
import { EventEmitter } from 'node:events';
import type { Grant } from '../auth/tokens.ts';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { mediaCodecs } from '../media/codecs.ts';
import type { WorkerPool } from '../media/workerPool.ts';
import type { LeaveReason } from '../../protocol/messages.ts';
import type { Participant, PeerLink } from './participant.ts';
import { Room, type RoomCloseReason, type RoomOptions } from './room.ts';
import type { RoomMove } from './roomMover.ts';
import type { SpanWorkers } from './roomSpan.ts';

export interface RegistryOptions extends RoomOptions {
  /** A room whose worker died waits this long for a live worker (e.g. the replacement) before it closes (ms). */
  moveWaitMs: number;
}

export type RegistryEvents = {
  roomOpened: [Room];
  roomClosed: [Room, RoomCloseReason];
  roomMoved: [Room, RoomMove];
  participantJoined: [Room, Participant];
  participantLeft: [Room, Participant, LeaveReason];
};

export class RoomRegistry extends EventEmitter<RegistryEvents> {
  readonly #rooms = new Map<string, Room>();
  readonly #opening = new Map<string, Promise<Room>>();
  #closed = false;

  constructor(
    readonly pool: WorkerPool,
    readonly options: RegistryOptions,
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
    await room.placed(); // a room moving off a dead worker: join it on its new one
    return { room, participant: await room.join(grant, link, requestedAt) };
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
    const room = await Room.create(name, this.#routerSource, this.#spanWorkers, this.options, this.log.child('room'));
    if (this.#closed) {
      room.close('serverShutdown');
      return room; // joining it fails with ROOM_CLOSED
    }
    this.#rooms.set(name, room);
    room.on('participantJoined', (p) => this.emit('participantJoined', room, p));
    room.on('participantLeft', (p, reason) => this.emit('participantLeft', room, p, reason));
    room.on('moved', (move) => this.emit('roomMoved', room, move));
    room.once('close', (reason) => {
      if (this.#rooms.get(name) === room) this.#rooms.delete(name);
      this.emit('roomClosed', room, reason);
    });
    this.log.info('room opened', { room: name, worker: room.media.index, pid: room.media.pid });
    this.emit('roomOpened', room);
    return room;
  }

  /** A router on the least-loaded live worker (waiting a little for a replacement when none is alive). */
  readonly #routerSource = async () => {
    if (this.#closed) throw new ChorusError('SERVER_BUSY', 'this server is shutting down');
    return this.pool.createRouter(mediaCodecs, { waitMs: this.options.moveWaitMs });
  };

  /** The workers a room may spread over, and a router on the one it chose (roomSpan.ts). */
  readonly #spanWorkers: SpanWorkers = {
    workers: () => this.pool.workers,
    routerOn: async (media) => {
      if (this.#closed) throw new ChorusError('SERVER_BUSY', 'this server is shutting down');
      return (await this.pool.createRouter(mediaCodecs, { on: media })).router;
    },
  };

  /** Closes every room (server shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#opening.values());
    for (const room of [...this.#rooms.values()]) room.close('serverShutdown');
  }
}
