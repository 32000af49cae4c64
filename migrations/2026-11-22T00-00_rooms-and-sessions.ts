import { type Kysely, sql } from 'kysely';

// Rooms (each opening of a room name) and participant sessions (one join → leave).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rooms')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('worker_pid', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closed_at', 'timestamptz')
    .addColumn('close_reason', 'text')
    .execute();
  await db.schema.createIndex('rooms_name_created_at').on('rooms').columns(['name', 'created_at']).execute();

  await db.schema
    .createTable('participant_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('seq', 'bigserial', (c) => c.notNull())
    .addColumn('room_id', 'uuid', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('worker_pid', 'integer', (c) => c.notNull())
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
    .addColumn('left_at', 'timestamptz')
    .addColumn('leave_reason', 'text')
    .addCheckConstraint('left_after_joined', sql`left_at is null or left_at >= joined_at`)
    .execute();
  await db.schema.createIndex('participant_sessions_room_id').on('participant_sessions').column('room_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('participant_sessions').execute();
  await db.schema.dropTable('rooms').execute();
}
