// Table types for kysely, matching migrations/. Only sfu/db/ imports kysely.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface RoomsTable {
  /** Chorus's id of this opening of the room (a room name can be opened many times). */
  id: string;
  name: string;
  worker_pid: number;
  created_at: Timestamp;
  closed_at: Timestamp | null;
  close_reason: string | null;
}

export interface ParticipantSessionsTable {
  /** The participant id the server gave at join. */
  id: string;
  room_id: string;
  display_name: string;
  worker_pid: number;
  joined_at: Timestamp;
  left_at: Timestamp | null;
  leave_reason: string | null;
  seq: Generated<number>;
}

export interface Database {
  rooms: RoomsTable;
  participant_sessions: ParticipantSessionsTable;
}
