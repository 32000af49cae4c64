// Worker instructions per forwarded packet, counted by callgrind (valgrind):
// the same count for the same binary and load whatever else the machine does,
// where CPU time on a shared VM moves ±15 % between runs. Compares worker
// builds (run once per binary) and shows where the instructions go.
//
//   npm run bench:engine [-- --seconds 20]
//   MEDIASOUP_WORKER_BIN=/path/to/other/mediasoup-worker npm run bench:engine
//
// Load: one room of 6 simulated participants (chorus-load: real WebRTC), 3
// talking, K = 3, so each talker's packets go to 5 listeners. The worker runs
// under callgrind (≈ 10× slower, still keeping up at this rate); counting starts
// once everyone has joined and lasts --seconds. Kernel time (socket syscalls,
// ≈ 30 % of the worker's CPU here) is not counted: this measures the user-space
// work per packet, which is what a build changes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from '../tools/load/chorusLoad.ts';
import { machine, startBenchChorus } from './support/benchChorus.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
const seconds = Number(values.seconds);
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-callgrind-'));

// mediasoup spawns its worker under valgrind when told so (read at spawn time).
process.env.MEDIASOUP_USE_VALGRIND = 'true';
process.env.MEDIASOUP_VALGRIND_OPTIONS = `--tool=callgrind --callgrind-out-file=${out}/callgrind.%p --instr-atstart=no`;

const chorus = await startBenchChorus({ metrics: { statsIntervalMs: 600_000 } });
const pid = chorus.pool.workers[0]!.worker.pid;
const callgrind = (...args: string[]) => execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });

/** Packets sent by every consumer so far (the worker's own counters). */
async function forwardedPackets(): Promise<number> {
  let n = 0;
  for (const room of chorus.rooms.rooms.values()) {
    for (const p of room.participants.values()) {
      for (const c of p.consumers.values()) {
        for (const s of await c.getStats()) if (s.type === 'outbound-rtp') n += s.packetCount;
      }
    }
  }
  return n;
}

const settleS = 6;
const load = runLoad({
  url: chorus.url,
  rooms: 1,
  perRoom: 6,
  talkers: 3,
  ramp: 5,
  duration: settleS + seconds + 2,
  processes: 1,
  out: path.join(out, 'load'),
  quiet: true,
});
await new Promise((r) => setTimeout(r, settleS * 1000));
callgrind('--instr=on');
callgrind('--zero');
const p0 = await forwardedPackets();
await new Promise((r) => setTimeout(r, seconds * 1000));
const p1 = await forwardedPackets();
callgrind('--dump');
callgrind('--instr=off');
const report = await load;
await chorus.stop();

const dump = fs.readdirSync(out).find((f) => /^callgrind\.\d+\.\d+$/.test(f));
if (!dump) throw new Error(`no callgrind dump in ${out}`);
const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', path.join(out, dump)], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
const totals = Number(/^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/m.exec(annotated)?.[1]?.replaceAll(',', ''));
// Self instructions by shared object: "123,456 (1.2%)  file:function [/path/lib.so]".
const byObject = new Map<string, number>();
for (const m of annotated.matchAll(/^\s*([\d,]+) \(\s*[\d.]+%\)\s+.*\[(.+)\]$/gm)) {
  const object = path.basename(m[2]!);
  byObject.set(object, (byObject.get(object) ?? 0) + Number(m[1]!.replaceAll(',', '')));
}
const packets = p1 - p0;
const pct = (n: number) => `${((n / totals) * 100).toFixed(1)} %`;

console.log(`\nWorker instructions under callgrind, ${seconds} s of steady load (1 room × 6, 3 talkers, K = 3):`);
console.log(`  worker binary          ${process.env.MEDIASOUP_WORKER_BIN ?? '(installed)'}`);
console.log(`  forwarded packets      ${packets}  (received loss ${report.lossPct.toFixed(2)} %)`);
console.log(`  instructions           ${totals.toLocaleString('en')}`);
console.log(`  per forwarded packet   ${Math.round(totals / packets).toLocaleString('en')}`);
console.log('  by object (self):');
for (const [object, n] of [...byObject].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
  console.log(`    ${object.padEnd(28)} ${pct(n).padStart(7)}  ${Math.round(n / packets).toLocaleString('en').padStart(6)} per packet`);
}
console.log(`machine: ${machine()}; callgrind output: ${out}`);
process.exit(0);
