// Chorus as a user runs it (`npm start` = node --import tsx sfu/main.ts), as a
// child process of the test with its own environment; ended by its pid.
import { type ChildProcess, spawn } from 'node:child_process';
import type { JoinTarget } from '../../client/node/nodePeer.ts';
import { projectRoot } from '../../sfu/paths.ts';
import { until } from './wait.ts';

export interface ChorusProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

export function startChorusProcess(env: Record<string, string>): ChorusProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sfu/main.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
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
