// Cluster figures (issue 14): Chorus nodes as separate processes (`npm start`
// with cluster env) sharing a redis-server and a PostgreSQL database of this
// script's own, on loopback. Prints figures; asserts nothing.
//
// - capacity: the same chorus-load run against one node pinned to core 0
//   (taskset -c 0), and against two nodes pinned to core 0 and core 1, each
//   room's joiners spread over both URLs: server CPU per participant (summed
//   over the nodes' /metrics), loss, join p50/p95; in the two-node runs, join
//   latency through a non-owner node (WRONG_NODE, redirected) against through
//   the owner, in the same run. The generator processes are not pinned: they
//   share the same two cores with the nodes.
// - failover: two Node peers (client/node/nodePeer.ts) talk in a room; the
//   node owning it is SIGKILLed; time from the kill until each hears the other
//   again through the surviving node (default cluster timings: heartbeatMs
//   1000, nodeTtlMs 5000, leaseMs 10000). A replacement node is started
//   between trials.
// - capacity search (`--share F`): each node also gets a CPU budget of F of one
//   core (a cgroup CFS quota, bench/support/cpuQuota.ts; its worker counted in
//   it), so that one node saturates at a load the on-machine generator can
//   still drive. For one node and then two, loads of `--sizes` participants
//   (rooms of --per-room) run in turn until one fails a call's bar (a failed
//   participant, loss ≥ 1 %, mean jitter ≥ 30 ms, or join p95 ≥ 3 s); the
//   capacity is the largest size that passed. Replaces the fixed-load runs.
//
//   npm run bench:cluster [-- --rounds 2 --rooms 8 --per-room 10 --talkers 3 --ramp 10 --duration 30 --trials 6]
//   npm run bench:cluster -- --share 0.05 --sizes 20,40,60,80,100,120 --skip failover
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { NodePeer } from '../client/node/nodePeer.ts';
import { opusTonePackets } from '../client/node/opusTone.ts';
import { type LoadReport, runLoad } from '../tools/load/chorusLoad.ts';
import { remoteTarget } from '../tools/load/target.ts';
import { killChorusProcesses } from '../tools/harness/chorusProcess.ts';
import { type ClusterNode, clusterFormed, gauge, startClusterNode } from '../tools/harness/clusterNode.ts';
import { createTestDatabase, startTestPostgres } from '../tools/harness/postgres.ts';
import { startTestRedis } from '../tools/harness/redis.ts';
import { machine } from './support/benchChorus.ts';
import { type CpuQuota, cpuQuota, cpuQuotaAvailable } from './support/cpuQuota.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    rooms: { type: 'string', default: '8' },
    'per-room': { type: 'string', default: '10' },
    talkers: { type: 'string', default: '3' },
    ramp: { type: 'string', default: '10' },
    duration: { type: 'string', default: '30' },
    trials: { type: 'string', default: '6' },
    /** Capacity search: each node's CPU budget, in cores (e.g. 0.05); unset = fixed-load runs, no budget. */
    share: { type: 'string' },
    sizes: { type: 'string', default: '20,40,60,80,100,120,140' },
    /** Capacity search: which set-ups, by node count. */
    setups: { type: 'string', default: '1,2' },
    /** Skip a part: "capacity" or "failover". */
    skip: { type: 'string', multiple: true, default: [] },
  },
});
const SECRET = 'bench-cluster-auth-secret-0123456789-abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-bench-cluster-'));
const configFile = path.join(work, 'chorus.yaml');
// Every simulated participant connects from this machine: no per-address cap, no dev-token limit
// (the generator signs its tokens with the shared secret anyway), room for 200 per room.
fs.writeFileSync(
  configFile,
  'rooms:\n  maxParticipants: 200\n' +
    'signaling:\n  maxSocketsPerAddress: 100000\n' +
    'http:\n  rateLimits:\n    devToken:\n      requestsPerSecond: 10000\n      requestBurst: 100000\n',
);

const pg = await startTestPostgres();
const database = await createTestDatabase(pg.adminUrl);
const redis = await startTestRedis();
let rtcBase = 42000;

interface BenchNode extends ClusterNode {
  core: number;
  quota?: CpuQuota;
}

const share = args.share === undefined ? undefined : Number(args.share);
if (share !== undefined && !cpuQuotaAvailable()) throw new Error('--share needs cgroup v1 CPU quotas (root, /sys/fs/cgroup/cpu writable)');

/**
 * A Chorus node as `npm start` runs it, under `taskset -c <core>` (its
 * mediasoup worker inherits the pinning), and with --share inside a CPU budget.
 */
async function startNode(id: string, core: number): Promise<BenchNode> {
  rtcBase += 100;
  const quota = share === undefined ? undefined : cpuQuota(`chorus-bench-${id}`, share);
  const node = await startClusterNode(id, {
    redisUrl: redis.url,
    databaseUrl: database.url,
    secret: SECRET,
    env: {
      CHORUS_CONFIG: configFile,
      CHORUS_RTC_PORT_BASE: String(rtcBase),
      CHORUS_LOG_LEVEL: 'warn',
      ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
    },
    wrap: [...(quota?.prefix ?? []), 'taskset', '-c', String(core)],
    logFile: path.join(work, `${id}.log`),
    startMs: 60_000,
  });
  return { ...node, core, quota };
}

async function stopNode(n: BenchNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (n.run.child.exitCode === null && n.run.child.signalCode === null) n.run.child.kill(signal);
  await n.run.exited;
  n.quota?.remove();
}

/** Redis emptied (restarted), so a phase starts with no dead nodes' heartbeats or leases. */
async function freshRedis(): Promise<void> {
  await redis.stop();
  await redis.start();
}

// ---------------------------------------------------------------- capacity
interface CapacityRun {
  nodes: number;
  report: LoadReport;
  /** Rooms each node owned at the end of the ramp. */
  roomsPerNode: number[];
  /** With --share: CFS periods each node was held back in (its budget was used up). */
  throttled: number[];
  /** Leases each node lost (another node took a room it had: it looked dead, its heartbeat late). */
  leasesLost: number[];
}

async function capacityRun(nodeCount: 1 | 2, round: number, rooms = Number(args.rooms)): Promise<CapacityRun> {
  await freshRedis();
  const nodes: BenchNode[] = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startNode(`cap${round}-${'ab'[i]}`, i));
  await clusterFormed(nodes, SECRET);
  await sleep(5000); // settle: startup work done, heartbeats of the probe rooms' closing seen
  const perRoom = Number(args['per-room']);
  const ramp = Number(args.ramp);
  const roomsPerNode = nodes.map(() => 0);
  // Rooms per node, read just after the ramp (every room open by then).
  const counting = sleep(((rooms * perRoom) / ramp) * 1000 + 3000).then(async () => {
    for (const [i, n] of nodes.entries()) roomsPerNode[i] = await gauge(n, 'chorus_cluster_owned_rooms').catch(() => NaN);
  });
  process.stdout.write(`\n${nodeCount} node(s), round ${round + 1}:\n`);
  const report = await runLoad({
    url: nodes.map((n) => n.url),
    rooms,
    perRoom,
    talkers: Number(args.talkers),
    ramp,
    duration: Number(args.duration),
    processes: 2,
    authSecret: SECRET,
    out: path.join(work, `load-${nodeCount}-${round}`),
  });
  await counting;
  const throttled = nodes.map((n) => n.quota?.throttled() ?? 0);
  const leasesLost = await Promise.all(nodes.map((n) => gauge(n, 'chorus_cluster_leases_lost_total').catch(() => NaN)));
  for (const n of nodes) await stopNode(n);
  return { nodes: nodeCount, report, roomsPerNode, throttled, leasesLost };
}

/** Why a run does not pass for a call that sounds right (empty: it passes). */
function callBar(r: LoadReport): string[] {
  const why: string[] = [];
  if (r.failed > 0) why.push(`${r.failed} failed`);
  if (!(r.lossPct < 1)) why.push(`loss ${r.lossPct.toFixed(2)} %`);
  if (!(r.jitterMsMean < 30)) why.push(`jitter ${r.jitterMsMean.toFixed(1)} ms`);
  if (!((r.joinLatencyMs.p95 ?? Infinity) < 3000)) why.push(`join p95 ${r.joinLatencyMs.p95} ms`);
  return why;
}

interface Search {
  nodes: 1 | 2;
  runs: { size: number; run: CapacityRun; why: string[] }[];
  /** The largest size that passed (0: none). */
  capacity: number;
}

/** Loads of growing size on `nodeCount` budgeted nodes, until one fails the call bar. */
async function capacitySearch(nodeCount: 1 | 2): Promise<Search> {
  const perRoom = Number(args['per-room']);
  const search: Search = { nodes: nodeCount, runs: [], capacity: 0 };
  for (const size of args.sizes.split(',').map(Number)) {
    const run = await capacityRun(nodeCount, search.runs.length, Math.max(1, Math.round(size / perRoom)));
    const why = callBar(run.report);
    search.runs.push({ size: run.report.participants, run, why });
    console.log(`  ${nodeCount} node(s), ${run.report.participants} participants: ${why.length ? `fails (${why.join(', ')})` : 'passes'}`);
    if (why.length) break;
    search.capacity = run.report.participants;
  }
  return search;
}

// ---------------------------------------------------------------- failover
interface Trial {
  /** From the SIGKILL until both peers hear each other through the surviving node (ms). */
  backMs: number;
  /** From the SIGKILL until the later of the two calls emitted 'rejoined' (ms). */
  rejoinedMs: number;
}

async function failoverTrials(trials: number): Promise<{ trials: Trial[]; failures: string[] }> {
  await freshRedis();
  const nodes: BenchNode[] = [await startNode('fo-a0', 0), await startNode('fo-b0', 1)];
  await clusterFormed(nodes, SECRET);
  const results: Trial[] = [];
  const failures: string[] = [];
  for (let t = 0; t < trials; t++) {
    const room = `failover-${t}`;
    const opusA = opusTonePackets(440);
    const opusB = opusTonePackets(660);
    let survivorWs = '';
    let killedAt = 0;
    const back = new Map<NodePeer, number>();
    const onRtp = (from: string, _rtp: unknown, at: number, peer: NodePeer) => {
      if (!killedAt || back.has(peer) || peer.call.nodeUrl !== survivorWs) return;
      const other = peer === ada ? bob : ada;
      if (from === other.participantId) back.set(peer, at);
    };
    const ada: NodePeer = await NodePeer.join(remoteTarget(nodes[0]!.url, SECRET), room, 'Ada', opusA, { onRtp, onFailure: (e) => failures.push(`trial ${t}: Ada: ${e.message}`) });
    const bob: NodePeer = await NodePeer.join(remoteTarget(nodes[1]!.url, SECRET), room, 'Bob', opusB, { onRtp, onFailure: (e) => failures.push(`trial ${t}: Bob: ${e.message}`) });
    const heard = async () => {
      const from = [ada.packetsFrom(bob.participantId), bob.packetsFrom(ada.participantId)];
      const end = Date.now() + 20_000;
      while (ada.packetsFrom(bob.participantId) < from[0]! + 50 || bob.packetsFrom(ada.participantId) < from[1]! + 50) {
        if (Date.now() > end) throw new Error('the peers do not hear each other');
        await sleep(50);
      }
    };
    await heard();
    const ownerIndex = nodes.findIndex((n) => n.wsUrl === ada.call.nodeUrl);
    const owner = nodes[ownerIndex]!;
    const survivor = nodes[1 - ownerIndex]!;
    survivorWs = survivor.wsUrl;
    const rejoinedAt: number[] = [];
    for (const p of [ada, bob]) p.call.on('rejoined', () => rejoinedAt.push(Date.now()));
    killedAt = Date.now();
    owner.run.child.kill('SIGKILL');
    const end = Date.now() + 60_000;
    while (back.size < 2 && Date.now() < end) await sleep(10);
    if (back.size < 2) failures.push(`trial ${t}: not back after 60 s (${back.size} of 2 peers heard the other)`);
    else {
      results.push({ backMs: Math.max(...back.values()) - killedAt, rejoinedMs: rejoinedAt.length === 2 ? Math.max(...rejoinedAt) - killedAt : NaN });
      console.log(`  trial ${t + 1}: killed ${owner.id}, back on ${survivor.id} after ${results.at(-1)!.backMs} ms`);
    }
    await Promise.allSettled([ada.close(), bob.close()]);
    await owner.run.exited;
    // A replacement on the same core; the cluster has two live nodes again (the dead one's heartbeat expired).
    nodes[ownerIndex] = await startNode(`fo-${'ab'[ownerIndex]}${t + 1}`, owner.core);
    await clusterFormed(nodes, SECRET);
  }
  for (const n of nodes) await stopNode(n);
  return { trials: results, failures };
}

// ---------------------------------------------------------------- run, print
const skip = new Set(args.skip);
const started = new Date();
const capacity: CapacityRun[] = [];
const searches: Search[] = [];
let failover: Awaited<ReturnType<typeof failoverTrials>> | undefined;
try {
  if (!skip.has('capacity') && share !== undefined) {
    for (const n of args.setups.split(',').map(Number)) searches.push(await capacitySearch(n === 1 ? 1 : 2));
  } else if (!skip.has('capacity')) {
    for (let round = 0; round < Number(args.rounds); round++) {
      // Alternate the order, so that a drift in the machine's load does not favour one set-up.
      for (const n of round % 2 ? ([2, 1] as const) : ([1, 2] as const)) capacity.push(await capacityRun(n, round));
    }
  }
  if (!skip.has('failover')) failover = await failoverTrials(Number(args.trials));
} finally {
  killChorusProcesses();
  await redis.close();
  await database.drop().catch(() => {});
  await pg.stop();
}

const f = (x: number | null | undefined, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
console.log(`\n# bench:cluster, ${started.toISOString()}, ${machine()}`);
console.log(`load: ${args.rooms} rooms × ${args['per-room']}, ${args.talkers} talkers each, ${args.ramp} joins/s, ${args.duration} s steady; generator: 2 processes, unpinned (same 2 cores)`);
if (capacity.length) {
  console.log('\n| set-up | round | joined / failed | rooms per node | server CPU (worker + Node), % of a core | per participant | loss | join p50 / p95 | direct p50 / p95 (n) | redirected p50 / p95 (n) | generator CPU | generator-limited |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [i, { nodes, report: r, roomsPerNode }] of capacity.entries()) {
    const cpu = r.steady.workerCpuPct + r.steady.serverNodeCpuPct;
    const d = r.joinLatencyByRouteMs.direct;
    const x = r.joinLatencyByRouteMs.redirected;
    console.log(
      `| ${nodes === 1 ? '1 node, core 0' : '2 nodes, cores 0 and 1'} | ${Math.floor(i / 2) + 1} | ${r.joined} / ${r.failed} | ${roomsPerNode.join(' + ')} | ` +
        `${f(r.steady.workerCpuPct, 1)} + ${f(r.steady.serverNodeCpuPct, 1)} = ${f(cpu, 1)} | ${f(r.joined ? cpu / r.joined : NaN, 2)} % | ` +
        `${f(r.lossPct, 3)} % | ${r.joinLatencyMs.p50} / ${r.joinLatencyMs.p95} ms | ${d.p50} / ${d.p95} (${d.count}) | ` +
        `${x.count ? `${x.p50} / ${x.p95} (${x.count})` : 'n/a'} | ${r.steady.generatorCpuPct.map((p) => `${p.toFixed(0)}%`).join(', ')} | ${r.generatorLimited ? 'yes' : 'no'} |`,
    );
  }
  const per = (n: number) => capacity.filter((c) => c.nodes === n).map((c) => (c.report.steady.workerCpuPct + c.report.steady.serverNodeCpuPct) / c.report.joined);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  if (per(1).length && per(2).length) console.log(`\nCPU per participant, 2 nodes / 1 node (means over rounds): ${(mean(per(2)) / mean(per(1))).toFixed(2)}×`);
  for (const c of capacity) if (c.report.failures.length) console.log(`failures (${c.nodes} node(s)): ${c.report.failures.slice(0, 5).join('; ')}`);
}
if (searches.length) {
  console.log(`capacity search: each node ${share} of a core (CFS quota, 10 ms period) and pinned (node a core 0, node b core 1); rooms of ${args['per-room']}, ${args.talkers} talkers each, ${args.ramp} joins/s, ${args.duration} s steady`);
  console.log('bar: no failed participant, loss < 1 %, mean jitter < 30 ms, join p95 < 3 s');
  console.log('\n| set-up | participants | joined / failed | rooms per node | server CPU (worker + Node), % of a core | loss | jitter | join p50 / p95 | throttled periods | leases lost | rejoins | generator CPU | verdict |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { nodes, runs } of searches) {
    for (const { size, run, why } of runs) {
      const r = run.report;
      console.log(
        `| ${nodes} node(s) | ${size} | ${r.joined} / ${r.failed} | ${run.roomsPerNode.join(' + ')} | ` +
          `${f(r.steady.workerCpuPct, 1)} + ${f(r.steady.serverNodeCpuPct, 1)} | ${f(r.lossPct, 2)} % | ${f(r.jitterMsMean, 1)} ms | ` +
          `${r.joinLatencyMs.p50} / ${r.joinLatencyMs.p95} ms | ${run.throttled.join(' + ')} | ${run.leasesLost.join(' + ')} | ${r.rejoins} | ${r.steady.generatorCpuPct.map((p) => `${p.toFixed(0)}%`).join(', ')}${r.generatorLimited ? ' (limited)' : ''} | ${why.length ? why.join(', ') : 'passes'} |`,
      );
    }
  }
  const [one, two] = searches;
  if (one && two) {
    const last = two.runs.at(-1)!;
    const bounded = last.why.length ? '' : ' (two nodes passed every size: their capacity is at least this)';
    console.log(`\ncapacity: 1 node ${one.capacity}, 2 nodes ${two.capacity}${bounded}; ratio ${one.capacity ? (two.capacity / one.capacity).toFixed(2) : 'n/a'}×`);
  }
}
if (failover) {
  const back = failover.trials.map((t) => t.backMs);
  const rejoined = failover.trials.map((t) => t.rejoinedMs);
  console.log(`\nfailover, ${failover.trials.length} trials (SIGKILL of the room's owner → both peers hear each other through the other node):`);
  console.log('\n| measure | p50 | p95 | min | max |');
  console.log('|---|---|---|---|---|');
  console.log(`| both calls rejoined | ${quantile(rejoined, 0.5)} ms | ${quantile(rejoined, 0.95)} ms | ${Math.min(...rejoined)} ms | ${Math.max(...rejoined)} ms |`);
  console.log(`| both hear each other again | ${quantile(back, 0.5)} ms | ${quantile(back, 0.95)} ms | ${Math.min(...back)} ms | ${Math.max(...back)} ms |`);
  for (const e of failover.failures) console.log(`  ${e}`);
}
fs.rmSync(work, { recursive: true, force: true });
