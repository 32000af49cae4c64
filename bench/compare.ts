// The benchmark (a script, not a test): the same load, driven by chorus-load
// over real WebRTC, against
//   (a) Chorus with K = 0 (everyone forwarded, like the bare server),
//   (b) a bare mediasoup server (bench/bareServer.ts: the engine floor),
//   (c) Chorus with K = 3 (selective forwarding),
// then a capacity sweep of Chorus (K = 3) until loss exceeds 1 % or join p95
// exceeds 1 s, or the load generator itself saturates. Prints tables; writes
// bench-results/*.json and the sweep's last timeline SVG.
//
//   npm run bench:compare [-- --quick] [-- --no-sweep]
// With DATABASE_URL set, Chorus uses that PostgreSQL instead of its embedded one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../sfu/paths.ts';
import { type LoadOptions, type LoadReport, formatJoinSteps, formatLoopDelay, runLoad } from '../tools/load/chorusLoad.ts';
import { machine } from './support/benchChorus.ts';
import { startServer } from './support/benchServers.ts';

const quick = process.argv.includes('--quick');
// Seconds a server runs idle before its load: a freshly started Node process
// spends its first tens of seconds on lazy compilation and V8's post-start-up
// garbage collections (≈ 1.5 % of a core for Chorus, ≈ 0.4 % later), which is
// not the steady cost being compared.
const settleS = quick ? 5 : 20;
const sweepToo = !process.argv.includes('--no-sweep');
const resultsDir = path.join(projectRoot, 'bench-results');
fs.mkdirSync(resultsDir, { recursive: true });

async function measure(kind: 'chorus' | 'bare', k: number, load: Omit<LoadOptions, 'url' | 'out'>, label: string): Promise<LoadReport> {
  const server = await startServer(kind, { forwardK: k, settleS });
  try {
    process.stdout.write(`\n${label}\n`);
    return await runLoad({ ...load, url: server.url, out: path.join(resultsDir, label.replace(/\W+/g, '-').toLowerCase()) });
  } finally {
    await server.stop();
  }
}

const fmt = (n: number | null, digits = 1) => (n === null ? 'n/a' : n.toFixed(digits));

// --- (a), (b), (c): the same streams --------------------------------------
const load = { rooms: 3, perRoom: 8, talkers: 6, ramp: 10, duration: quick ? 15 : 30, processes: 1 };
const runs = {
  'Chorus, K = 0': await measure('chorus', 0, load, 'Chorus, K = 0'),
  'bare mediasoup': await measure('bare', 0, load, 'bare mediasoup'),
  'Chorus, K = 3': await measure('chorus', 3, load, 'Chorus, K = 3'),
};
const floor = runs['bare mediasoup'].steady.serverCpuUsPerReceivedPacket;
console.log(
  `\nSame load: ${load.rooms} rooms × ${load.perRoom} participants, ${load.talkers} talkers per room, ${load.duration} s steady`,
);
console.log('| server | received pkt/s | worker CPU | Node CPU | worker µs/pkt | total µs/pkt | vs bare | loss | join p95 | generator CPU |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(runs)) {
  const s = r.steady;
  const ratio = floor && s.serverCpuUsPerReceivedPacket ? (s.serverCpuUsPerReceivedPacket / floor).toFixed(2) : 'n/a';
  console.log(
    `| ${name} | ${fmt(s.receivedPacketsPerSec, 0)} | ${fmt(s.workerCpuPct)}% | ${fmt(s.serverNodeCpuPct)}% | ` +
      `${fmt(s.workerCpuUsPerReceivedPacket)} | ${fmt(s.serverCpuUsPerReceivedPacket)} | ${ratio}× | ` +
      `${r.lossPct.toFixed(2)}% | ${r.joinLatencyMs.p95} ms | ${s.generatorCpuPct.map((p) => `${p.toFixed(0)}%`).join(' ')} |`,
  );
}
fs.writeFileSync(path.join(resultsDir, 'compare.json'), `${JSON.stringify(runs, null, 2)}\n`);

// --- join latency at 20 joins/s (the rate the goal is stated at) ------------
const joins = await measure(
  'chorus',
  3,
  { rooms: 4, perRoom: 10, talkers: 3, ramp: 20, duration: 5, processes: Math.min(2, os.availableParallelism()) },
  'joins at 20 per s',
);
console.log(`\nJoin latency, 40 participants (4 rooms × 10, 3 talkers) joining at 20/s:`);
console.log(
  `  p50 / p95 / p99 ${joins.joinLatencyMs.p50} / ${joins.joinLatencyMs.p95} / ${joins.joinLatencyMs.p99} ms; ` +
    `steps done at, p50 (p95): ${formatJoinSteps(joins)}`,
);
console.log(`  generator event-loop delay p99 / max: ${formatLoopDelay(joins)}`);
fs.writeFileSync(path.join(resultsDir, 'joins.json'), `${JSON.stringify(joins, null, 2)}\n`);

// --- capacity sweep (Chorus, K = 3, rooms of 10 with 3 talkers) --------------
const sizes = !sweepToo ? [] : quick ? [20, 40] : [40, 80, 120, 160, 200, 250, 300, 400, 500];
const sweepRamp = 10; // joins/s (join latency at 20 joins/s is measured below)
const sweep: { participants: number; report: LoadReport }[] = [];
let knee: string | undefined;
for (const n of sizes) {
  const rooms = n / 10;
  const report = await measure(
    'chorus',
    3,
    { rooms, perRoom: 10, talkers: 3, ramp: sweepRamp, duration: quick ? 10 : 20, processes: Math.min(os.availableParallelism(), Math.ceil(n / 40)) },
    `sweep ${n}`,
  );
  sweep.push({ participants: n, report });
  const p95 = report.joinLatencyMs.p95 ?? 0;
  if (report.lossPct > 1 || p95 > 1000 || report.failed > 0) {
    knee = `${n} participants: loss ${report.lossPct.toFixed(2)}%, join p95 ${p95} ms, ${report.failed} failed`;
    break;
  }
  if (report.generatorLimited) {
    knee = `not reached: the load generator saturated at ${n} participants (${report.steady.generatorCpuPct.map((p) => p.toFixed(0)).join(', ')}% of a core per process)`;
    break;
  }
}
console.log(`\nCapacity sweep: Chorus, K = 3, rooms of 10 with 3 talkers, ${sweepRamp} joins/s`);
console.log('| participants | worker CPU | Node CPU | worker µs/pkt | loss | join p50 / p95 / p99 | memory/participant | generator CPU |');
console.log('|---|---|---|---|---|---|---|---|');
for (const { participants, report: r } of sweep) {
  console.log(
    `| ${participants} | ${fmt(r.steady.workerCpuPct)}% | ${fmt(r.steady.serverNodeCpuPct)}% | ${fmt(r.steady.workerCpuUsPerReceivedPacket)} | ` +
      `${r.lossPct.toFixed(2)}% | ${r.joinLatencyMs.p50} / ${r.joinLatencyMs.p95} / ${r.joinLatencyMs.p99} ms | ` +
      `${r.memoryPerParticipantBytes === null ? 'n/a' : `${(r.memoryPerParticipantBytes / 1024).toFixed(0)} KiB`} | ` +
      `${r.steady.generatorCpuPct.map((p) => `${p.toFixed(0)}%`).join(' ')} |`,
  );
}
if (sizes.length) console.log(`knee: ${knee ?? `not reached up to ${sizes.at(-1)} participants`}`);
console.log(`machine: ${machine()}`);
fs.writeFileSync(path.join(resultsDir, 'sweep.json'), `${JSON.stringify({ sweep, knee }, null, 2)}\n`);
