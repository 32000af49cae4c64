// The database connection (kysely over a pg pool) and schema migrations.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kysely, type Migration, type MigrationResultSet, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

/** migrations/ at the top of the project (or of dist/ when compiled). */
export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Pool size; the embedded database serves one connection. */
  maxConnections?: number;
}

export function openDatabase(url: string, { maxConnections = 5 }: OpenOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    connectionTimeoutMillis: 5_000,
    // Without a listener, an idle client losing its server would crash the process.
  });
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export async function isReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every migrations/*.ts file, by name (its ISO-dated name orders them). Imported
 * from here rather than by kysely's FileMigrationProvider, so that the
 * TypeScript loader in use (tsx, vitest) handles them.
 */
async function loadMigrations(): Promise<Record<string, Migration>> {
  const files = (await fs.readdir(migrationsDir)).filter((f) => f.endsWith('.ts')).sort();
  const entries = await Promise.all(
    files.map(async (f) => [f.replace(/\.ts$/, ''), (await import(pathToFileURL(path.join(migrationsDir, f)).href)) as Migration] as const),
  );
  return Object.fromEntries(entries);
}

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: loadMigrations } });
}

function check({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** Applies every pending migration; returns the names applied. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  return check(await migrator(db).migrateToLatest());
}

/** Reverts the last applied migration; returns its name. */
export async function migrateDown(db: Kysely<any>): Promise<string[]> {
  return check(await migrator(db).migrateDown());
}
