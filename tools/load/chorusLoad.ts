// chorus-load: simulated participants against a running Chorus, through the
// real control plane and real WebRTC, spread over generator processes.
//
//   npm run load -- --url http://127.0.0.1:3000 --rooms 4 --per-room 10 --talkers 3 \
//                   --ramp 5 --duration 30 [--processes 2] [--auth-secret S] [--out load-report]
//
// Several --url (repeated, or comma-separated): the nodes of a cluster. Each
// room's participants are spread over them round-robin (a room's joiners
// arrive through different nodes; the client core follows WRONG_NODE to the
// room's node), and /metrics is read from every URL and summed.
//
// Measures join latency (WebSocket open → first remote audio packet), received
// loss and jitter (from RTP sequence numbers and timestamps), server CPU (from
// its /metrics: mediasoup workers and the Node process), worker CPU per
// forwarded packet, failures, and the generators' own CPU. Writes
// <out>/report.json and <out>/timeline.svg.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JOIN_STEPS, type JoinStep } from '../../client/node/nodePeer.ts';
import { parseExposition, total } from './promText.ts';
import { type TimelinePoint, timelineSvg } from './plot.ts';
import type { GeneratorMessage, PlanItem, Totals } from './protocol.ts';

export interface LoadOptions {
  /** The server, or several (a cluster's nodes): one URL, a comma-separated list, or an array. */
  url: string | string[];
  rooms: number;
  perRoom: number;
  talkers: number;
  /** Joins per second. */
  ramp: number;
  /** Seconds to run after the last join. */
  duration: number;
  processes: number;
  authSecret?: string;
  out: string;
  quiet?: boolean;
}

export interface LoadReport {
  options: Omit<LoadOptions, 'authSecret'>;
  machine: string;
  participants: number;
  joined: number;
  /** Joins that failed, and participants the server dropped (or whose consume failed) after joining. */
  failed: number;
  failures: string[];
  /** Consumers the server closed before the client acknowledged them: races counted apart, not failures. */
  racedConsumers: number;
  /** Calls the client core rejoined on its own (they went on: not failures). */
  rejoins: number;
  /** Consumers the server held at the end, per joined participant (from its /metrics). */
  consumersPerParticipant: number | null;
  joinLatencyMs: LatencySummary;
  /**
   * The measured joins by route: sent to the room's node (direct), or to
   * another that answered WRONG_NODE (redirected). Latency counts from the
   * first WebSocket open, so a redirected join includes its detour.
   */
  joinLatencyByRouteMs: { direct: LatencySummary; redirected: LatencySummary };
  /** When each step of the measured joins had completed, ms after WebSocket open: where a join spends its time. */
  joinStepsMs: Partial<Record<JoinStep, { p50: number | null; p95: number | null }>>;
  receivedPackets: number;
  lossPct: number;
  jitterMsMean: number;
  /** Over the steady window (after the last join). */
  steady: {
    seconds: number;
    workerCpuPct: number;
    serverNodeCpuPct: number;
    forwardedPacketsPerSec: number;
    workerCpuUsPerForwardedPacket: number | null;
    /** Packets the generators received (= forwarded and delivered); servers without our /metrics are compared on this. */
    receivedPacketsPerSec: number;
    workerCpuUsPerReceivedPacket: number | null;
    /** Worker + Node CPU of the server per received packet. */
    serverCpuUsPerReceivedPacket: number | null;
    generatorCpuPct: number[];
  };
  /** Server memory (workers' RSS + Node's used heap) grown over the steady window's participants, per participant. */
  memoryPerParticipantBytes: number | null;
  /** True when a generator process was busy enough that its numbers may limit the run. */
  generatorLimited: boolean;
  /**
   * Each generator process's event-loop delay over the run (ms): a join or a
   * packet waits this long in the generator before it is seen, so join
   * latencies include it (busiest during the ramp).
   */
  generatorLoopDelayMs: { p99: number; max: number }[];
  timeline: TimelinePoint[];
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** The URLs of `--url`: repeated, comma-separated, or both. */
export const urlList = (url: string | string[]): string[] =>
  [url].flat().flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean);

function plan({ rooms, perRoom, talkers, ramp }: LoadOptions, urls: number): PlanItem[] {
  const items: PlanItem[] = [];
  // Round-robin over rooms so each room fills gradually; talkers join first in each room.
  // With several URLs, a room's i-th joiner goes through URL (i + r) mod n: each room's
  // joiners alternate between nodes, and rooms' first joiners do not all reach one node.
  for (let i = 0; i < perRoom; i++) {
    for (let r = 0; r < rooms; r++) {
      items.push({
        room: `load-${r}`,
        name: `p${i}`,
        talker: i < talkers,
        joinAtMs: 0,
        measureJoin: i > 0,
        ...(urls > 1 ? { urlIndex: (i + r) % urls } : {}),
      });
    }
  }
  items.forEach((item, n) => (item.joinAtMs = Math.round((n / ramp) * 1000)));
  return items;
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
};

const latencySummary = (xs: number[]): LatencySummary => ({
  count: xs.length,
  p50: quantile(xs, 0.5),
  p95: quantile(xs, 0.95),
  p99: quantile(xs, 0.99),
});

const SCRAPE_EVERY_MS = 5000;

interface ServerSample {
  at: number;
  workerCpuS: number;
  nodeCpuS: number;
  packetsOut: number;
  /** Workers' resident memory + Node's used heap (not Node's RSS: an embedded database lives there). */
  memoryBytes: number;
  consumers: number;
}

/** Every server's /metrics, summed (null if one does not answer). */
async function scrape(urls: string[]): Promise<ServerSample | null> {
  const samples = await Promise.all(urls.map(scrapeOne));
  if (samples.some((s) => s === null)) return null;
  return (samples as ServerSample[]).reduce((a, b) => ({
    at: Math.max(a.at, b.at),
    workerCpuS: a.workerCpuS + b.workerCpuS,
    nodeCpuS: a.nodeCpuS + b.nodeCpuS,
    packetsOut: a.packetsOut + b.packetsOut,
    memoryBytes: a.memoryBytes + b.memoryBytes,
    consumers: a.consumers + b.consumers,
  }));
}

async function scrapeOne(url: string): Promise<ServerSample | null> {
  try {
    const samples = parseExposition(await (await fetch(`${url.replace(/\/$/, '')}/metrics`)).text());
    return {
      at: Date.now(),
      workerCpuS: total(samples, 'chorus_worker_cpu_seconds_total'),
      nodeCpuS: total(samples, 'chorus_process_cpu_seconds_total'),
      packetsOut: total(samples, 'chorus_rtp_packets_total', { direction: 'out' }),
      memoryBytes: total(samples, 'chorus_worker_memory_bytes') + total(samples, 'chorus_nodejs_heap_size_used_bytes'),
      consumers: total(samples, 'chorus_consumers'),
    };
  } catch {
    return null;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const urls = urlList(options.url);
  if (!urls.length) throw new Error('no --url');
  const items = plan(options, urls.length);
  const log = (line: string) => options.quiet || process.stdout.write(line);
  const shares: PlanItem[][] = Array.from({ length: options.processes }, () => []);
  items.forEach((item, i) => shares[i % options.processes]!.push(item));

  const generatorPath = path.join(import.meta.dirname, 'generator.ts');
  const latest: Totals[] = shares.map(() => ({
    joined: 0,
    failed: 0,
    racedConsumers: 0,
    rejoins: 0,
    received: 0,
    expected: 0,
    lost: 0,
    jitterMs: 0,
    cpuMs: 0,
    loopDelayP99Ms: 0,
    loopDelayMaxMs: 0,
  }));
  const latencies: number[] = [];
  const byRoute = { direct: [] as number[], redirected: [] as number[] };
  const stepTimes = new Map<JoinStep, number[]>();
  const failures: string[] = [];
  let ready = 0;
  let allReady!: () => void;
  const whenAllReady = new Promise<void>((r) => (allReady = r));
  const exits: Promise<void>[] = [];
  let stopping = false;
  const children = shares.map((_, i) => {
    const child = fork(generatorPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // Watched from the start: a generator that dies during the run (a crash, the
    // OOM killer) is reported, and the end of the run does not wait for it forever.
    exits[i] = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!stopping) failures.push(`generator process ${i} exited during the run (${signal ?? `code ${code}`}): its participants are gone`);
        resolve();
      }),
    );
    child.on('message', (m: GeneratorMessage) => {
      if (m.type === 'ready' && ++ready === shares.length) allReady();
      else if (m.type === 'tick' || m.type === 'done') latest[i] = m.totals;
      else if (m.type === 'firstAudio' && m.latencyMs !== undefined) {
        latencies.push(m.latencyMs);
        byRoute[m.redirected ? 'redirected' : 'direct'].push(m.latencyMs);
        for (const [step, ms] of Object.entries(m.steps ?? {}) as [JoinStep, number][]) {
          let times = stepTimes.get(step);
          if (!times) stepTimes.set(step, (times = []));
          times.push(ms);
        }
      }
      else if (m.type === 'failed' && failures.length < 20) failures.push(m.error);
    });
    return child;
  });
  await whenAllReady;
  const started = Date.now() + 100;
  children.forEach((child, i) =>
    child.send({ type: 'start', urls, authSecret: options.authSecret, startAt: started, plan: shares[i]! }),
  );

  const sum = (k: keyof Totals) => latest.reduce((n, t) => n + t[k], 0);
  const rampSeconds = items.length / options.ramp;
  const endAt = started + (rampSeconds + options.duration) * 1000;
  const timeline: TimelinePoint[] = [];
  // /metrics is read every SCRAPE_EVERY_MS (Chorus updates worker CPU every
  // metrics.statsIntervalMs, 5 s by default; reading more often would only add
  // the load tool's own cost to the server's), and once right after the ramp.
  let lastScrape = await scrape(urls);
  const firstServer = lastScrape;
  let serverCpu = { workerPct: 0, nodePct: 0 };
  let prevTickAt = Date.now();
  let prevGen = latest.map((t) => t.cpuMs);
  let prevLoss = { lost: 0, expected: 0 };
  let steadyStart: { server: ServerSample; gen: number[]; received: number } | undefined;

  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, 1000));
    const t = (Date.now() - started) / 1000;
    const rampDone = !steadyStart && t >= rampSeconds;
    if (!lastScrape || rampDone || Date.now() - lastScrape.at >= SCRAPE_EVERY_MS - 100) {
      const server = await scrape(urls);
      if (server && lastScrape && server.at > lastScrape.at) {
        const span = (server.at - lastScrape.at) / 1000;
        serverCpu = {
          workerPct: ((server.workerCpuS - lastScrape.workerCpuS) / span) * 100,
          nodePct: ((server.nodeCpuS - lastScrape.nodeCpuS) / span) * 100,
        };
      }
      if (rampDone && server) steadyStart = { server, gen: latest.map((l) => l.cpuMs), received: sum('received') };
      lastScrape = server ?? lastScrape;
    }
    const dt = (Date.now() - prevTickAt) / 1000;
    prevTickAt = Date.now();
    const genCpu = latest.map((l, i) => (l.cpuMs - prevGen[i]!) / 10 / dt);
    const loss = { lost: sum('lost'), expected: sum('expected') };
    const dExpected = loss.expected - prevLoss.expected;
    const point: TimelinePoint = {
      t,
      joined: sum('joined'),
      workerCpuPct: serverCpu.workerPct,
      serverNodeCpuPct: serverCpu.nodePct,
      generatorCpuPct: genCpu.reduce((a, b) => a + b, 0),
      lossPct: dExpected > 0 ? ((loss.lost - prevLoss.lost) / dExpected) * 100 : 0,
    };
    timeline.push(point);
    log(
      `\r[chorus-load] ${t.toFixed(0).padStart(4)} s  joined ${point.joined}/${items.length}  failed ${sum('failed')}  ` +
        `worker ${point.workerCpuPct.toFixed(0)}%  node ${point.serverNodeCpuPct.toFixed(0)}%  ` +
        `generators ${point.generatorCpuPct.toFixed(0)}%  loss ${point.lossPct.toFixed(2)}%   `,
    );
    prevGen = latest.map((l) => l.cpuMs);
    prevLoss = loss;
  }
  log('\n');
  const endServer = await scrape(urls);
  const endGen = latest.map((l) => l.cpuMs);
  const endReceived = sum('received');
  stopping = true;
  for (const c of children) if (c.connected) c.send({ type: 'stop' });
  await Promise.all(exits);

  const steady = measureSteady(steadyStart, endServer, endGen, endReceived);
  const report: LoadReport = {
    options: { ...options, authSecret: undefined } as LoadReport['options'],
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`,
    participants: items.length,
    joined: sum('joined'),
    failed: sum('failed'),
    failures,
    racedConsumers: sum('racedConsumers'),
    rejoins: sum('rejoins'),
    consumersPerParticipant: endServer && sum('joined') > 0 ? endServer.consumers / sum('joined') : null,
    joinLatencyMs: latencySummary(latencies),
    joinLatencyByRouteMs: { direct: latencySummary(byRoute.direct), redirected: latencySummary(byRoute.redirected) },
    joinStepsMs: Object.fromEntries(
      JOIN_STEPS.filter((step) => stepTimes.has(step)).map((step) => {
        const xs = stepTimes.get(step)!;
        return [step, { p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) }];
      }),
    ),
    receivedPackets: sum('received'),
    lossPct: sum('expected') ? (sum('lost') / sum('expected')) * 100 : 0,
    jitterMsMean: latest.length ? latest.reduce((n, t) => n + t.jitterMs, 0) / latest.length : 0,
    steady,
    memoryPerParticipantBytes:
      firstServer && endServer && sum('joined') > 0 ? (endServer.memoryBytes - firstServer.memoryBytes) / sum('joined') : null,
    generatorLimited: steady.generatorCpuPct.some((p) => p > 85),
    generatorLoopDelayMs: latest.map((t) => ({ p99: Math.round(t.loopDelayP99Ms), max: Math.round(t.loopDelayMaxMs) })),
    timeline,
  };
  fs.mkdirSync(options.out, { recursive: true });
  fs.writeFileSync(path.join(options.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(
    path.join(options.out, 'timeline.svg'),
    timelineSvg(timeline, `chorus-load: ${items.length} participants, ${options.rooms} rooms, ${options.talkers} talkers/room`),
  );
  return report;
}

/** Rates over the steady window: from the last join to the end. */
function measureSteady(
  start: { server: ServerSample; gen: number[]; received: number } | undefined,
  end: ServerSample | null,
  endGen: number[],
  endReceived: number,
): LoadReport['steady'] {
  if (!start || !end || end.at <= start.server.at) {
    return {
      seconds: 0,
      workerCpuPct: 0,
      serverNodeCpuPct: 0,
      forwardedPacketsPerSec: 0,
      workerCpuUsPerForwardedPacket: null,
      receivedPacketsPerSec: 0,
      workerCpuUsPerReceivedPacket: null,
      serverCpuUsPerReceivedPacket: null,
      generatorCpuPct: [],
    };
  }
  const seconds = (end.at - start.server.at) / 1000;
  const packets = end.packetsOut - start.server.packetsOut;
  const received = endReceived - start.received;
  const workerCpuS = end.workerCpuS - start.server.workerCpuS;
  const nodeCpuS = end.nodeCpuS - start.server.nodeCpuS;
  const perPacket = (cpuS: number, n: number) => (n > 0 ? (cpuS / n) * 1e6 : null);
  return {
    seconds,
    workerCpuPct: (workerCpuS / seconds) * 100,
    serverNodeCpuPct: (nodeCpuS / seconds) * 100,
    forwardedPacketsPerSec: packets / seconds,
    workerCpuUsPerForwardedPacket: perPacket(workerCpuS, packets),
    receivedPacketsPerSec: received / seconds,
    workerCpuUsPerReceivedPacket: perPacket(workerCpuS, received),
    serverCpuUsPerReceivedPacket: perPacket(workerCpuS + nodeCpuS, received),
    generatorCpuPct: endGen.map((g, i) => (g - start.gen[i]!) / 10 / seconds),
  };
}

/** "joined 7 (33), produced 42 (156), …": each join step's p50 (p95), ms after WebSocket open. */
export const formatJoinSteps = (r: LoadReport) =>
  Object.entries(r.joinStepsMs)
    .map(([step, q]) => `${step} ${q.p50} (${q.p95})`)
    .join(', ');

/** "45 / 94 ms, 41 / 65 ms": each generator process's event-loop delay, p99 / max. */
export const formatLoopDelay = (r: LoadReport) => r.generatorLoopDelayMs.map((d) => `${d.p99} / ${d.max} ms`).join(', ');

const routeLine = (q: LatencySummary) => `${q.p50} / ${q.p95} ms (n = ${q.count})`;

export function summaryTable(r: LoadReport): string {
  const rows: [string, string][] = [
    ['participants (joined / failed)', `${r.participants} (${r.joined} / ${r.failed}: joins that failed or were removed later)`],
    ['not failures', `${r.racedConsumers} consumers closed before acknowledged (races), ${r.rejoins} calls rejoined on their own`],
    ['consumers per participant (server)', r.consumersPerParticipant === null ? 'n/a' : r.consumersPerParticipant.toFixed(1)],
    ['join latency p50 / p95 / p99', `${r.joinLatencyMs.p50} / ${r.joinLatencyMs.p95} / ${r.joinLatencyMs.p99} ms (n = ${r.joinLatencyMs.count})`],
    ...(r.joinLatencyByRouteMs.redirected.count
      ? ([
          [
            'join p50 / p95: direct, redirected',
            `${routeLine(r.joinLatencyByRouteMs.direct)}; ${routeLine(r.joinLatencyByRouteMs.redirected)} (WRONG_NODE, from the first socket)`,
          ],
        ] as [string, string][])
      : []),
    ['join steps done at, p50 (p95)', formatJoinSteps(r) || 'n/a'],
    ['received packets', String(r.receivedPackets)],
    ['received loss', `${r.lossPct.toFixed(3)} %`],
    ['jitter (mean of streams)', `${r.jitterMsMean.toFixed(1)} ms`],
    ['steady window', `${r.steady.seconds.toFixed(0)} s`],
    ['worker CPU', `${r.steady.workerCpuPct.toFixed(1)} % of a core`],
    ['Chorus Node CPU', `${r.steady.serverNodeCpuPct.toFixed(1)} % of a core`],
    ['forwarded packets/s', r.steady.forwardedPacketsPerSec.toFixed(0)],
    ['worker CPU per forwarded packet', r.steady.workerCpuUsPerForwardedPacket === null ? 'n/a' : `${r.steady.workerCpuUsPerForwardedPacket.toFixed(1)} µs`],
    ['memory per participant', r.memoryPerParticipantBytes === null ? 'n/a' : `${(r.memoryPerParticipantBytes / 1024).toFixed(0)} KiB`],
    ['generator CPU per process', r.steady.generatorCpuPct.map((p) => `${p.toFixed(0)}%`).join(', ')],
    ['generator event-loop delay p99 / max', formatLoopDelay(r)],
    ['limited by the generator?', r.generatorLimited ? 'YES: a generator process was above 85% of a core' : 'no'],
    ['machine', r.machine],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', multiple: true, default: ['http://127.0.0.1:3000'] },
      rooms: { type: 'string', default: '2' },
      'per-room': { type: 'string', default: '5' },
      talkers: { type: 'string', default: '2' },
      ramp: { type: 'string', default: '5' },
      duration: { type: 'string', default: '20' },
      processes: { type: 'string' },
      'auth-secret': { type: 'string' },
      out: { type: 'string', default: 'load-report' },
    },
  });
  const participants = Number(values.rooms) * Number(values['per-room']);
  const options: LoadOptions = {
    // One URL stays a string (the report as before); several, repeated or comma-separated, a list.
    url: urlList(values.url!).length === 1 ? urlList(values.url!)[0]! : urlList(values.url!),
    rooms: Number(values.rooms),
    perRoom: Number(values['per-room']),
    talkers: Number(values.talkers),
    ramp: Number(values.ramp),
    duration: Number(values.duration),
    processes: Number(values.processes ?? Math.min(os.availableParallelism(), Math.max(1, Math.ceil(participants / 40)))),
    authSecret: values['auth-secret'],
    out: values.out!,
  };
  for (const [k, v] of Object.entries(options)) {
    if (typeof v === 'number' && !(v > 0) && !(k === 'talkers' && v === 0)) throw new Error(`--${k} must be a positive number`);
  }
  const report = await runLoad(options);
  console.log(`\nchorus-load summary\n${summaryTable(report)}\n\nwrote ${options.out}/report.json and ${options.out}/timeline.svg`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) await main();
