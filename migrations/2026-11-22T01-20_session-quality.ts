import type { Kysely } from 'kysely';

// A call-quality summary per participant session, written when it ends and
// periodically during long calls.
const columns = [
  ['bytes_sent', 'bigint'],
  ['bytes_received', 'bigint'],
  ['loss_mean', 'real'],
  ['loss_worst', 'real'],
  ['jitter_mean_ms', 'real'],
  ['jitter_worst_ms', 'real'],
  ['rtt_mean_ms', 'real'],
  ['rtt_worst_ms', 'real'],
  ['muted_seconds', 'real'],
  ['speaking_seconds', 'real'],
  ['quality_at', 'timestamptz'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  let alter = db.schema.alterTable('participant_sessions') as any;
  for (const [name, type] of columns) alter = alter.addColumn(name, type);
  await alter.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  let alter = db.schema.alterTable('participant_sessions') as any;
  for (const [name] of columns) alter = alter.dropColumn(name);
  await alter.execute();
}
