// The gauges' view of the media plane, read at scrape time (no bookkeeping).
import type { WorkerPool } from '../media/workerPool.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { MediaState } from './metrics.ts';

export function mediaState(pool: WorkerPool, rooms: RoomRegistry, queuedDbWrites: () => number): MediaState {
  return {
    workers() {
      return pool.workers.map((w) => {
        // A room counts on its primary's worker; its participants where their media lives.
        const slots = [...rooms.rooms.values()].flatMap((r) => r.span.slots.filter((s) => s.media === w).map((s) => ({ r, s })));
        const participants = slots.flatMap(({ s }) => [...s.participants]);
        const consumers = participants.flatMap((p) => [...p.consumers.values()]);
        return {
          index: w.index,
          rooms: slots.filter(({ r, s }) => s.router === r.router).length,
          spannedRooms: slots.filter(({ r, s }) => s.router !== r.router).length,
          pipedProducers: slots.reduce((n, { r, s }) => n + r.span.pipes.pipedTo(s.router.id).length, 0),
          participants: participants.length,
          producers: participants.filter((p) => p.producer).length,
          consumers: consumers.length,
          activeConsumers: consumers.filter((c) => !c.paused).length,
        };
      });
    },
    roomSizes() {
      return new Map([...rooms.rooms.values()].map((r) => [r.name, r.participants.size]));
    },
    queuedDbWrites,
  };
}
