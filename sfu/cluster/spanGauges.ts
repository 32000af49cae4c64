// The gauges' view of rooms across nodes (octo.ts) on this node, read at
// scrape time from the rooms and their satellites (no bookkeeping).
import type { Participant } from '../rooms/participant.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { Octo } from './octo.ts';

export interface SpanGauges {
  /** Rooms owned here with a satellite on another node. */
  ownerRooms: number;
  /** Rooms here that are satellites of a room owned by another node, attached to it. */
  satelliteRooms: number;
  /** Voices this node sends other nodes now (pipe consumers not paused, their producers not paused). */
  voicesOut: number;
  /** Voices of people on other nodes piped here (mirrors with their producer). */
  voicesIn: number;
}

const running = (p: Participant) => [...p.consumers.values()].filter((c) => !c.paused && !c.producerPaused).length;

export function spanGauges(rooms: RoomRegistry, octo: Octo): () => SpanGauges {
  return () => {
    const g: SpanGauges = { ownerRooms: 0, satelliteRooms: 0, voicesOut: 0, voicesIn: 0 };
    const attached = new Set(octo.satelliteRooms().map((s) => s.room));
    for (const room of rooms.rooms.values()) {
      const satellite = octo.satelliteHere(room.name);
      if (satellite) {
        if (attached.has(room.name)) g.satelliteRooms++;
        g.voicesOut += satellite.sending;
      } else if (octo.satellitesOf(room.name).length > 0) g.ownerRooms++;
      for (const p of room.remote.values()) {
        if (p.remote?.kind === 'mirror' && p.producer) g.voicesIn++;
        else if (p.remote?.kind === 'node') g.voicesOut += running(p); // a satellite node's stand-in here
      }
    }
    return g;
  };
}
