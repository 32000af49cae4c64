// Selective forwarding, measured: how fast listeners switch to a new speaker,
// and what K = 3 saves against K = 0 in bytes per listener and worker CPU.
// Real WebRTC peers (mediasoup-client over werift, see client/node/nodePeer.ts)
// against a real Chorus on loopback. Prints figures; asserts nothing.
//
//   npm run bench:forwarding [-- --trials 10]
import { machine, startBenchChorus } from './support/benchChorus.ts';
import { NodePeer } from '../client/node/nodePeer.ts';
import { opusTonePackets } from '../client/node/opusTone.ts';

const trials = Number(process.argv[process.argv.indexOf('--trials') + 1]) || 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const opus = opusTonePackets(440);

const chorus = await startBenchChorus();
const { config, target } = chorus;
const worker = chorus.pool.workers[0]!.worker;

async function join(room: string, n: number, talking: (i: number) => boolean): Promise<NodePeer[]> {
  const peers: NodePeer[] = [];
  for (let i = 0; i < n; i++) {
    const p = await NodePeer.join(target, room, `P${i}`, opus);
    p.talking = talking(i);
    peers.push(p);
  }
  await sleep(1500);
  return peers;
}

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

// --- 1. switch time ---------------------------------------------------------
// K = 2; A and B talk; C is silent; 3 listeners. Each trial: the current
// talker stops and the silent one starts at t0; a listener has switched when
// the first packet of the new talker reaches it.
{
  const room = 'switch';
  const [a, b, c, ...listeners] = await join(room, 6, (i) => i < 2);
  chorus.rooms.rooms.get(room)!.setForwardK(2);
  await sleep(500);
  let [stopping, starting] = [a!, c!];
  const samples: number[] = [];
  for (let t = 0; t < trials; t++) {
    const arrivals = listeners.map((l) => l.nextPacketFrom(starting.participantId));
    const t0 = Date.now();
    stopping.talking = false;
    starting.talking = true;
    for (const at of await Promise.all(arrivals)) samples.push(at - t0);
    await sleep(2000); // longer than the hold time, so trials are independent
    [stopping, starting] = [starting, stopping];
  }
  console.log(`\nSwitch to a new speaker (K = 2, ${trials} switches × ${listeners.length} listeners, level interval ${config.audio.levelIntervalMs} ms):`);
  console.log(`  median ${percentile(samples, 0.5)} ms, p90 ${percentile(samples, 0.9)} ms, max ${Math.max(...samples)} ms`);
  await Promise.all([a, b, c, ...listeners].map((p) => p!.close()));
}

// --- 2. bytes per listener and worker CPU, K = 3 vs K = 0 -------------------
async function measure(peers: NodePeer[], k: number, seconds: number) {
  chorus.rooms.rooms.get('bytes')!.setForwardK(k);
  await sleep(1000);
  const bytes0 = peers.map((p) => [...p.received.values()].reduce((s, r) => s + r.bytes, 0));
  const pkts0 = peers.map((p) => [...p.received.values()].reduce((s, r) => s + r.packets, 0));
  const cpu0 = await worker.getResourceUsage();
  await sleep(seconds * 1000);
  const cpu1 = await worker.getResourceUsage();
  const bytes = peers.map((p, i) => [...p.received.values()].reduce((s, r) => s + r.bytes, 0) - bytes0[i]!);
  const pkts = peers.map((p, i) => [...p.received.values()].reduce((s, r) => s + r.packets, 0) - pkts0[i]!);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const cpuMs = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / seconds;
  return {
    bytesPerSec: mean(bytes) / seconds,
    packetsPerSec: mean(pkts) / seconds,
    workerCpuPct: cpuMs / 10,
  };
}

for (const [label, talkers] of [
  ['10 open microphones (everyone above the speaking threshold)', 10],
  ['3 talkers, 7 silent (DTX)', 3],
] as const) {
  const peers = await join('bytes', 10, (i) => i < talkers);
  const k3 = await measure(peers, 3, 5);
  const k0 = await measure(peers, 0, 5);
  console.log(`\nBytes per listener, 10-person room, ${label} (Opus payload, 5 s each):`);
  console.log('  K | payload bytes/s per listener | packets/s per listener | worker CPU');
  for (const [k, m] of [
    [3, k3],
    [0, k0],
  ] as const) {
    console.log(
      `  ${k} | ${m.bytesPerSec.toFixed(0).padStart(28)} | ${m.packetsPerSec.toFixed(1).padStart(22)} | ${m.workerCpuPct.toFixed(1)}%`,
    );
  }
  console.log(`  K = 3 receives ${(k3.bytesPerSec / k0.bytesPerSec).toFixed(2)}× the bytes of K = 0`);
  await Promise.all(peers.map((p) => p.close()));
  await sleep(500);
}

console.log(`\nmachine: ${machine()}`);
await chorus.stop();
process.exit(0);
