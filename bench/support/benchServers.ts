// Servers for the benchmarks, each its own process on a free port: Chorus as
// `npm start` runs it (one worker on loopback, embedded or DATABASE_URL
// database, no per-address socket cap or dev-token rate limit: every simulated
// participant connects from this machine), or the bare mediasoup server (bench/bareServer.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../sfu/paths.ts';
import { loopbackEnv, startChorusProcess } from '../../tools/harness/chorusProcess.ts';
import { freePort } from '../../tools/harness/freePort.ts';

export interface BenchServer {
  url: string;
  stop(): Promise<void>;
}

export interface BenchServerOptions {
  /** Chorus's rooms.forwardK (default 3). */
  forwardK?: number;
  /** Chorus's rooms.maxParticipants (default 200). */
  maxParticipants?: number;
  /** Chorus's rooms.maxConsumersPerListener (default: Chorus's default). */
  maxConsumersPerListener?: number;
  /** Seconds the server runs idle before it is handed over (see compare.ts). */
  settleS?: number;
  /** CHORUS_LOG_LEVEL, and where its output goes (default: error, discarded). */
  logTo?: string;
}

/** Starts Chorus (npm start with a bench config) or the bare mediasoup server as a separate process, on a free port. */
export async function startServer(
  kind: 'chorus' | 'bare',
  { forwardK = 3, maxParticipants = 200, maxConsumersPerListener, settleS = 20, logTo }: BenchServerOptions = {},
): Promise<BenchServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-compare-'));
  let child: ChildProcess;
  if (kind === 'bare') {
    child = spawn(process.execPath, ['--import', 'tsx', 'bench/bareServer.ts'], {
      cwd: projectRoot,
      env: { ...process.env, PORT: String(port) },
      stdio: 'ignore',
    });
  } else {
    const config = path.join(dir, 'chorus.yaml');
    // The load generator's participants all connect from this machine: no per-address cap.
    fs.writeFileSync(
      config,
      `rooms:\n  forwardK: ${forwardK}\n  maxParticipants: ${maxParticipants}\n` +
        (maxConsumersPerListener ? `  maxConsumersPerListener: ${maxConsumersPerListener}\n` : '') +
        `signaling:\n  maxSocketsPerAddress: 100000\n` +
        `http:\n  rateLimits:\n    devToken:\n      requestsPerSecond: 10000\n      requestBurst: 100000\n`,
    );
    const run = startChorusProcess(
      {
        ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
        // To compare worker builds: MEDIASOUP_WORKER_BIN=/path/to/mediasoup-worker npm run bench:compare
        ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
        CHORUS_CONFIG: config,
        ...loopbackEnv(port),
        CHORUS_LOG_LEVEL: logTo ? 'warn' : 'error',
        CHORUS_EMBEDDED_DB_DIR: path.join(dir, 'pgdata'),
      },
      // Chorus's warnings (e.g. a failed transport with its ICE/DTLS history) to a file when asked.
      { logFile: logTo },
    );
    child = run.child;
  }
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) {
    if (Date.now() > end) throw new Error(`${kind} server did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, settleS * 1000));
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

