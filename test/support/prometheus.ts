// A throwaway Prometheus server (Debian's `prometheus`) scraping one target or several (cluster nodes).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './freePort.ts';
import { until } from './wait.ts';

export interface TestPrometheus {
  url: string;
  /** Evaluates PromQL now; throws on a query error. */
  query(expr: string): Promise<{ resultType: string; result: unknown[] }>;
  /** Scrapes completed so far of the target scraped least. */
  scrapes(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPrometheus(target: string | readonly string[], scrapeInterval = '1s'): Promise<TestPrometheus> {
  const targets = (typeof target === 'string' ? [target] : target).map((t) => `'${t}'`).join(', ');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    `global:\n  scrape_interval: ${scrapeInterval}\n  evaluation_interval: ${scrapeInterval}\nscrape_configs:\n  - job_name: chorus\n    static_configs:\n      - targets: [${targets}]\n`,
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await until(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true, 'Prometheus ready', 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: unknown[] } };
    if (body.status !== 'success') throw new Error(`PromQL error for ${expr}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query,
    async scrapes() {
      const up = (await query('min(count_over_time(up[10m]))')).result as { value: [number, string] }[];
      return up.length ? Number(up[0]!.value[1]) : 0;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
