// A Chorus for benchmarks: one worker on loopback, any free ports, the database
// from DATABASE_URL or an embedded one in a temp folder, no logs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../sfu/config/load.ts';
import type { Config } from '../../sfu/config/schema.ts';
import { silentLogger } from '../../sfu/log.ts';
import { type ChorusServer, startChorus } from '../../sfu/server.ts';
import { type JoinTarget, joinTarget } from '../../tools/harness/joinTarget.ts';

export interface BenchChorus extends ChorusServer {
  config: Config;
  target: JoinTarget;
}

export async function startBenchChorus(overrides: Record<string, object> = {}): Promise<BenchChorus> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-bench-'));
  const config = loadConfig({
    env: process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {},
    overrides: {
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      media: { workers: 1, listenIp: '127.0.0.1', announcedAddress: '127.0.0.1', rtcPortBase: 0, ...overrides.media },
      // Every simulated participant connects from this one machine.
      signaling: { maxSocketsPerAddress: 100_000, ...overrides.signaling },
      database: { embeddedDataDir: path.join(dataDir, 'pgdata') },
    },
  });
  const chorus = await startChorus(config, silentLogger);
  return {
    ...chorus,
    config,
    target: joinTarget(chorus),
    async stop() {
      await chorus.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const machine = () => `${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`;
