import type { Kysely } from 'kysely';

// Cluster mode: the node (cluster.nodeId) each room opening and each session
// ran on. Null for rows of a Chorus running alone (no cluster.redisUrl) and for
// rows written before this migration.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rooms').addColumn('node_id', 'text').execute();
  await db.schema.alterTable('participant_sessions').addColumn('node_id', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('participant_sessions').dropColumn('node_id').execute();
  await db.schema.alterTable('rooms').dropColumn('node_id').execute();
}
