// This node's load for its heartbeat: participants and rooms, and the CPU each
// mediasoup worker used since the previous heartbeat (fraction of one core).
import type { WorkerPool } from '../media/workerPool.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { NodeLoad } from './nodeRegistry.ts';

export function nodeLoad(pool: WorkerPool, rooms: RoomRegistry): () => Promise<NodeLoad> {
  const previous = new Map<number, { cpuMs: number; at: number }>(); // by worker pid
  return async () => {
    const workerCpu = await Promise.all(
      pool.workers.map(async (w) => {
        try {
          const usage = await w.worker.getResourceUsage();
          const now = { cpuMs: usage.ru_utime + usage.ru_stime, at: Date.now() };
          const before = previous.get(w.pid);
          previous.set(w.pid, now);
          return before && now.at > before.at ? Math.max(0, (now.cpuMs - before.cpuMs) / (now.at - before.at)) : 0;
        } catch {
          return 0; // it died meanwhile
        }
      }),
    );
    const live = new Set(pool.workers.map((w) => w.pid));
    for (const pid of previous.keys()) if (!live.has(pid)) previous.delete(pid);
    let participants = 0;
    for (const room of rooms.rooms.values()) participants += room.participants.size;
    return { participants, rooms: rooms.rooms.size, workerCpu: workerCpu.map((c) => Math.round(c * 1000) / 1000) };
  };
}
