import type { Kysely } from 'kysely';

// Rooms that moved off a dead worker: one row per move (the room, the worker it
// left and the one it moved to, when, how many participants went with it).
// rooms.worker_pid and participant_sessions.worker_pid follow the move (they
// say where the room and the session run, or ran last); this table keeps the
// history.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('room_moves')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('room_id', 'uuid', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('from_worker_pid', 'integer', (c) => c.notNull())
    .addColumn('to_worker_pid', 'integer', (c) => c.notNull())
    .addColumn('moved_at', 'timestamptz', (c) => c.notNull())
    .addColumn('participants', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('room_moves_room_id').on('room_moves').column('room_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('room_moves').execute();
}
