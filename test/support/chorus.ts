// Starts a real Chorus for a test: one mediasoup worker on loopback, any free
// ports, a fresh database on the test PostgreSQL server.
import { inject } from 'vitest';
import { loadConfig } from '../../sfu/config/load.ts';
import type { Config } from '../../sfu/config/schema.ts';
import { createLogger, silentLogger } from '../../sfu/log.ts';
import { type ChorusServer, startChorus } from '../../sfu/server.ts';
import { type JoinTarget, joinTarget } from './joinTarget.ts';
import { createTestDatabase } from './postgres.ts';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestChorus extends ChorusServer, JoinTarget {
  config: Config;
  databaseUrl: string;
}


export async function startTestChorus(overrides: DeepPartial<Config> = {}): Promise<TestChorus> {
  const database = await createTestDatabase(inject('postgresAdminUrl'));
  let config: Config;
  try {
  config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      media: {
        workers: 1,
        listenIp: '127.0.0.1',
        announcedAddress: '127.0.0.1',
        rtcPortBase: 0,
        ...overrides.media,
      },
      rooms: { emptyRoomCloseDelayMs: 200, ...overrides.rooms },
      database: { url: database.url, ...overrides.database },
    },
  });
  } catch (err) {
    await database.drop();
    throw err;
  }
  const log = process.env.CHORUS_TEST_LOG ? createLogger('debug', 'test') : silentLogger;
  let server: ChorusServer;
  try {
    server = await startChorus(config, log);
  } catch (err) {
    await database.drop();
    throw err;
  }
  return {
    ...server,
    config,
    databaseUrl: database.url,
    ...joinTarget(server),
    async stop() {
      await server.stop();
      await database.drop();
    },
  };
}
