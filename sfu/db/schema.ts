// Table types for kysely, matching migrations/. Only sfu/db/ imports kysely.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface RoomsTable {
  /** Chorus's id of this opening of the room (a room name can be opened many times). */
  id: string;
  name: string;
  /** The worker the room runs on (or ran on last: a move updates it, see room_moves). */
  worker_pid: number;
  created_at: Timestamp;
  closed_at: Timestamp | null;
  close_reason: string | null;
  /** Cluster mode: the node it opened on (null on a node alone). */
  node_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ParticipantSessionsTable {
  /** The participant id the server gave at join. */
  id: string;
  room_id: string;
  display_name: string;
  /** The worker the session runs on (or ran on last: a move of its room updates it). */
  worker_pid: number;
  joined_at: Timestamp;
  left_at: Timestamp | null;
  leave_reason: string | null;
  /** Cluster mode: the node the session ran on (null on a node alone). */
  node_id: ColumnType<string | null, string | null | undefined, string | null>;
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

/** A room moved off a dead worker (sfu/rooms/room.ts). */
export interface RoomMovesTable {
  id: string;
  room_id: string;
  from_worker_pid: number;
  to_worker_pid: number;
  moved_at: Timestamp;
  /** Participants moved with it (their sessions go on). */
  participants: number;
}

export interface Database {
  rooms: RoomsTable;
  participant_sessions: ParticipantSessionsTable;
  room_moves: RoomMovesTable;
}
