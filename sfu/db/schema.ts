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
  // Call quality (see sfu/metrics/quality.ts); null until the first summary.
  bytes_sent: ColumnType<string | null, number | null, number | null>;
  bytes_received: ColumnType<string | null, number | null, number | null>;
  loss_mean: number | null;
  loss_worst: number | null;
  jitter_mean_ms: number | null;
  jitter_worst_ms: number | null;
  rtt_mean_ms: number | null;
  rtt_worst_ms: number | null;
  muted_seconds: number | null;
  speaking_seconds: number | null;
  quality_at: Timestamp | null;
}

export interface Database {
  rooms: RoomsTable;
  participant_sessions: ParticipantSessionsTable;
}
