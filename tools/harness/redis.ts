// A throwaway Redis server (Debian's `redis-server`) for a test or a
// benchmark: its own free port, no persistence, a temp folder; started and
// stopped by its pid. A Redis that may already listen on 6379 is never touched.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './freePort.ts';
import { until } from './wait.ts';

export interface TestRedis {
  url: string;
  port: number;
  /** The server's pid while it runs. */
  readonly pid: number | undefined;
  /** Stops it (SIGTERM, waits for the exit); start() brings it back, empty, on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

/** Whether something answers PING with PONG on the port. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setTimeout(1_000, () => (s.destroy(), resolve(false)));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) (s.destroy(), resolve(got.startsWith('+PONG')));
    });
    s.on('error', () => resolve(false));
  });
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let log = '';
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const c = child;
    c.stdout!.on('data', (d) => (log = (log + d).slice(-4000)));
    c.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
    exited = new Promise((r) => c.once('exit', r));
    try {
      await until(() => pings(port), 'redis-server to answer', 10_000);
    } catch (err) {
      c.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${log}`);
    }
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await exited;
    child = undefined;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
