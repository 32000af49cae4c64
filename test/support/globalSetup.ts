// Once per test run: make sure a real PostgreSQL server is available and
// give its admin URL to the test files (inject('postgresAdminUrl')).
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const pg = await startTestPostgres();
  project.provide('postgresAdminUrl', pg.adminUrl);
  return () => pg.stop();
}
