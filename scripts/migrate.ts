// `npm run migrate [-- up|down]`: applies (or reverts the last of) the
// migrations in migrations/ on the configured database (DATABASE_URL, or the
// embedded one). Chorus also applies them itself at startup.
import { ConfigError, loadConfig } from '../sfu/config/load.ts';
import { migrateDown, migrateToLatest, openDatabase } from '../sfu/db/database.ts';
import { startEmbeddedPostgres } from '../sfu/db/embedded.ts';

const direction = process.argv[2] ?? 'up';
if (direction !== 'up' && direction !== 'down') {
  console.error('usage: npm run migrate -- [up|down]');
  process.exit(2);
}
try {
  const config = loadConfig();
  const embedded = config.database.url ? undefined : await startEmbeddedPostgres(config.database.embeddedDataDir);
  const db = openDatabase(config.database.url || embedded!.url, { maxConnections: 1 });
  try {
    const names = direction === 'up' ? await migrateToLatest(db) : await migrateDown(db);
    console.log(names.length ? `${direction === 'up' ? 'applied' : 'reverted'}: ${names.join(', ')}` : 'nothing to do');
  } finally {
    await db.destroy();
    await embedded?.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
}
