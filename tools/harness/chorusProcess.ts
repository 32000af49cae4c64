// Chorus as a user runs it (`npm start` = node --import tsx sfu/main.ts), as a
// child process of a test or a benchmark with its own environment; ended by
// its pid (killChorusProcesses ends those still running).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { JoinTarget } from '../../client/node/nodePeer.ts';
import { projectRoot } from '../../sfu/paths.ts';
import { until } from './wait.ts';

export interface ChorusProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export interface ChorusProcessOptions {
  /** A command to run it under, e.g. ['taskset', '-c', '0'] (its mediasoup worker inherits the pinning). */
  wrap?: readonly string[];
  /** Append its output to this file instead of keeping it in memory (long runs); output() reads the file. */
  logFile?: string;
}

const children: ChildProcess[] = [];

export function startChorusProcess(env: Record<string, string>, { wrap = [], logFile }: ChorusProcessOptions = {}): ChorusProcess {
  const [command, ...args] = [...wrap, process.execPath, '--import', 'tsx', 'sfu/main.ts'];
  const log = logFile === undefined ? undefined : fs.openSync(logFile, 'a');
  const child = spawn(command!, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
    stdio: log === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', log, log],
  });
  if (log !== undefined) fs.closeSync(log); // the child has its own
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: logFile === undefined ? () => output : () => fs.readFileSync(logFile, 'utf8'), exited };
}

/** A node on loopback with one worker, RTC ports wherever free, HTTP on `port` (0: any). */
export function loopbackEnv(port: number): Record<string, string> {
  return {
    CHORUS_HTTP_HOST: '127.0.0.1',
    CHORUS_HTTP_PORT: String(port),
    CHORUS_WORKERS: '1',
    CHORUS_RTC_LISTEN_IP: '127.0.0.1',
    CHORUS_ANNOUNCED_ADDRESS: '127.0.0.1',
    CHORUS_RTC_PORT_BASE: '0',
  };
}

/** Waits for "Chorus is listening on …" and returns that URL. */
export async function listeningUrl(run: ChorusProcess, ms = 30_000): Promise<string> {
  await until(() => /listening on (http:\S+)/.test(run.output()) || run.child.exitCode !== null, 'Chorus to listen', ms);
  const m = /listening on (http:\S+)/.exec(run.output());
  if (!m) throw new Error(`Chorus exited before listening:\n${run.output()}`);
  return m[1]!;
}

/** Waits until `url` answers /healthz (whatever the log level), or fails with the process's output if it exits first. */
export async function answering(run: ChorusProcess, url: string, ms = 30_000): Promise<void> {
  const healthy = () => fetch(`${url}/healthz`).then((r) => r.ok, () => false);
  await until(async () => run.child.exitCode !== null || (await healthy()), `Chorus to answer on ${url}`, ms);
  if (run.child.exitCode !== null) throw new Error(`Chorus exited before listening:\n${run.output()}`);
}

/** SIGKILLs every process started here that still runs (afterEach). */
export function killChorusProcesses(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Joins a running process as its web client does: tokens from POST /dev/token. */
export function devTokenTarget(url: string): JoinTarget {
  return {
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    async token(room, name, role = 'speaker') {
      const res = await fetch(`${url}/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room, name, role }),
      });
      if (!res.ok) throw new Error(`dev token: ${res.status}`);
      return ((await res.json()) as { token: string }).token;
    },
  };
}
