// Room-size sweep (a script, not a test): one room of 10, 25, 50, 100 and 200
// participants, 3 talkers, K = 3, 10 joins/s, driven by chorus-load over real
// WebRTC against, in the same run and with the same load:
//   - bare mediasoup (bench/bareServer.ts: every producer consumed by everyone),
//   - Chorus holding every consumer (rooms.maxConsumersPerListener above the
//     room size: how Chorus ran before consumers on demand),
//   - Chorus as configured by default (consumers on demand).
// Prints join p50/p95, server CPU, consumers and memory per participant, loss,
// failures and races; writes bench-results/room-sizes.json. Chorus's warnings
// go to bench-results/room-sizes-*.log (a failed transport is logged there
// with its ICE/DTLS state history).
//
//   npm run bench:rooms [-- --sizes 10,50] [-- --duration 20]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../sfu/paths.ts';
import { type LoadReport, runLoad } from '../tools/load/chorusLoad.ts';
import { machine } from './support/benchChorus.ts';
import { type BenchServerOptions, startServer } from './support/benchServers.ts';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '10,25,50,100,200' }, duration: { type: 'string', default: '20' } },
});
const sizes = values.sizes!.split(',').map(Number);
const duration = Number(values.duration);
const resultsDir = path.join(projectRoot, 'bench-results');
fs.mkdirSync(resultsDir, { recursive: true });

const servers: { name: string; kind: 'chorus' | 'bare'; options: BenchServerOptions }[] = [
  { name: 'bare mediasoup', kind: 'bare', options: {} },
  { name: 'Chorus, every consumer', kind: 'chorus', options: { maxConsumersPerListener: 10_000 } },
  { name: 'Chorus, on demand', kind: 'chorus', options: {} },
];

const fmt = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? 'n/a' : n.toFixed(digits));
const header = [
  '| participants | server | join p50 / p95 | server CPU (worker + Node) | consumers / participant | memory / participant | loss | failed | races | transports failed | generator CPU |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
function tableRow({ size, server, report: r, transportFailures }: Row): string {
  const cpu = r.steady.workerCpuPct + r.steady.serverNodeCpuPct;
  return (
    `| ${size} | ${server} | ${r.joinLatencyMs.p50} / ${r.joinLatencyMs.p95} ms | ${fmt(cpu)}% (${fmt(r.steady.workerCpuPct)} + ${fmt(r.steady.serverNodeCpuPct)}) | ` +
    `${fmt(r.consumersPerParticipant)} | ${r.memoryPerParticipantBytes === null ? 'n/a' : `${(r.memoryPerParticipantBytes / 1024).toFixed(0)} KiB`} | ` +
    `${r.lossPct.toFixed(2)}% | ${r.failed} | ${r.racedConsumers} | ${server.startsWith('bare') ? 'n/a' : transportFailures.length} | ` +
    `${r.steady.generatorCpuPct.map((p) => `${p.toFixed(0)}%`).join(' ')}${r.generatorLimited ? ' (limited)' : ''} |`
  );
}

interface Row {
  size: number;
  server: string;
  report: LoadReport;
  transportFailures: string[];
}
const rows: Row[] = [];
for (const size of sizes) {
  for (const { name, kind, options } of servers) {
    const slug = `room-sizes-${size}-${name.replace(/\W+/g, '-').toLowerCase()}`;
    const logTo = kind === 'chorus' ? path.join(resultsDir, `${slug}.log`) : undefined;
    if (logTo) fs.writeFileSync(logTo, '');
    const server = await startServer(kind, { ...options, forwardK: 3, maxParticipants: Math.max(250, size), settleS: 10, logTo });
    try {
      process.stdout.write(`\n${size} participants, ${name}\n`);
      const report = await runLoad({
        url: server.url,
        rooms: 1,
        perRoom: size,
        talkers: 3,
        ramp: 10,
        duration,
        processes: Math.min(os.availableParallelism(), Math.ceil(size / 40)),
        out: path.join(resultsDir, slug),
      });
      await server.stop();
      const transportFailures = logTo ? fs.readFileSync(logTo, 'utf8').split('\n').filter((l) => l.includes('transport failed')) : [];
      const row = { size, server: name, report, transportFailures };
      rows.push(row);
      // Each row as soon as it is measured (a long sweep that stops early keeps what it had).
      process.stdout.write(`\n${header.join('\n')}\n${tableRow(row)}\n`);
    } catch (err) {
      await server.stop();
      throw err;
    }
  }
}

console.log(`\nOne room, 3 talkers, K = 3, 10 joins/s, ${duration} s steady; ${machine()}`);
console.log(header.join('\n'));
for (const row of rows) console.log(tableRow(row));
for (const { size, server, report, transportFailures } of rows) {
  for (const line of transportFailures) console.log(`${size}, ${server}: ${line}`);
  for (const f of report.failures) console.log(`${size}, ${server}: failure: ${f}`);
}
fs.writeFileSync(path.join(resultsDir, `room-sizes-${sizes.join('-')}.json`), `${JSON.stringify(rows, null, 2)}\n`);
