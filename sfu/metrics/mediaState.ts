// The gauges' view of the media plane, read at scrape time (no bookkeeping).
import type { WorkerPool } from '../media/workerPool.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { MediaState } from './metrics.ts';

export function mediaState(pool: WorkerPool, rooms: RoomRegistry, queuedDbWrites: () => number): MediaState {
  return {
    workers() {
      return pool.workers.map((w) => {
        // A room spanning workers counts on each of them, its participants where their media lives.
        const onWorker = [...rooms.rooms.values()].filter((r) => r.span.workers.includes(w));
        const participants = onWorker.flatMap((r) => [...r.participants.values()].filter((p) => r.workerOf(p) === w));
        const consumers = participants.flatMap((p) => [...p.consumers.values()]);
        return {
          index: w.index,
          rooms: onWorker.length,
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
