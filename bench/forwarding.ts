// Selective forwarding, measured: how fast listeners hear someone who starts
// talking (a slot free: no detection wait; every slot taken: a switch), how
// many voices a listener receives at once, and what K = 3 saves against K = 0
// in bytes per listener and worker CPU. Real WebRTC peers (mediasoup-client
// over werift, see client/node/nodePeer.ts) against a real Chorus on
// loopback. Prints figures; asserts nothing.
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
const holdMs = config.rooms.speakerHoldMs;

/** Packet arrivals at every listener while `recording` (for voices at once). */
let recording = false;
const arrivals = new Map<NodePeer, { from: string; at: number }[]>();
const onRtp = (from: string, _rtp: unknown, at: number, peer: NodePeer) => {
  if (recording) arrivals.get(peer)?.push({ from, at });
};

async function join(room: string, n: number, talking: (i: number) => boolean, voiceHints = false): Promise<NodePeer[]> {
  const peers: NodePeer[] = [];
  for (let i = 0; i < n; i++) {
    const p = await NodePeer.join(target, room, `P${i}`, opus, { talking: talking(i), onRtp, voiceHints });
    arrivals.set(p, []);
    peers.push(p);
  }
  await sleep(1500);
  return peers;
}

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Most senders any listener got packets from within one 50 ms window (a voice sends every 20 ms). */
function maxVoicesAtOnce(listeners: NodePeer[]): number {
  let max = 0;
  for (const l of listeners) {
    const log = arrivals.get(l)!;
    for (let i = 0, j = 0; i < log.length; i++) {
      while (log[j]!.at < log[i]!.at - 50) j++;
      max = Math.max(max, new Set(log.slice(j, i + 1).map((a) => a.from)).size);
    }
  }
  return max;
}

/**
 * Each trial: `stopping` (if any) falls silent as `starting`, silent for longer
 * than the hold, starts; latency = its first loud packet sent → first packet at
 * each listener. Speakers alternate between trials when `stopping` is given.
 */
async function trialsOf(listeners: NodePeer[], starting: NodePeer, stopping?: NodePeer) {
  const samples: number[] = [];
  for (const l of listeners) arrivals.set(l, []);
  for (let t = 0; t < trials; t++) {
    // A random phase against the level observer's 250 ms clock: people do not start
    // talking in step with it (a fixed phase measured one luck-dependent case).
    await sleep(Math.random() * config.audio.levelIntervalMs);
    const arrived = listeners.map((l) => l.nextPacketFrom(starting.participantId));
    recording = true;
    if (stopping) stopping.talking = false;
    starting.talking = true;
    const times = await Promise.all(arrived);
    const sentAt = starting.talkStart!.sentAt;
    for (const at of times) samples.push(at - sentAt);
    await sleep(500);
    recording = false;
    if (stopping) [stopping, starting] = [starting, stopping];
    else starting.talking = false;
    await sleep(holdMs + 800); // silent for longer than the hold: trials are independent
  }
  return { samples, voices: maxVoicesAtOnce(listeners) };
}

const report = (s: number[]) => `median ${percentile(s, 0.5)} ms, p90 ${percentile(s, 0.9)} ms, max ${Math.max(...s)} ms`;

// --- 1. a slot free ---------------------------------------------------------
// K = 3; A talks, S is silent (DTX) for longer than the hold, then starts; 3 listeners.
{
  const room = 'free';
  const [a, s, ...listeners] = await join(room, 5, (i) => i === 0);
  const k = chorus.rooms.rooms.get(room)!.forwardK;
  const { samples, voices } = await trialsOf(listeners, s!);
  console.log(`\nSomeone starts talking while a slot is free (K = ${k}, 1 talking, ${trials} starts × ${listeners.length} listeners):`);
  console.log(`  first loud packet sent → first packet at a listener: ${report(samples)}`);
  console.log(`  most voices a listener received at once: ${voices}`);
  await Promise.all([a, s, ...listeners].map((p) => p!.close()));
}

// --- 2. every slot taken: a switch -------------------------------------------
// K = 2; A and B talk; C is silent; 3 listeners. Each trial: the current
// talker stops (held: it keeps its slot) and the silent one starts at once.
// Once as the level observer alone detects the new talker, once with the
// talkers' own voice detection telling the server (the protocol's `speaking`).
for (const voiceHints of [false, true]) {
  const room = `switch-${voiceHints}`;
  const [a, b, c, ...listeners] = await join(room, 6, (i) => i < 2, voiceHints);
  chorus.rooms.rooms.get(room)!.setForwardK(2);
  await sleep(500);
  const { samples, voices } = await trialsOf(listeners, c!, a!);
  const how = voiceHints ? 'with voice hints' : 'level observer only';
  console.log(`\nSwitch to a new speaker, every slot taken, ${how} (K = 2, ${trials} switches × ${listeners.length} listeners, level interval ${config.audio.levelIntervalMs} ms):`);
  console.log(`  first loud packet sent → first packet at a listener: ${report(samples)}`);
  console.log(`  most voices a listener received at once: ${voices} (K + 1 = 3)`);
  await Promise.all([a, b, c, ...listeners].map((p) => p!.close()));
}

// --- 2b. every slot taken, and nobody holds a consumer of the new speaker -----
// Consumers on demand: with rooms.maxConsumersPerListener = K = 2 a listener
// holds only the two forwarded voices, so the silent one who starts has no
// consumer anywhere: it is made on demand once the level observer counts them
// (a worker request, newConsumer, the client's consume and consumerReady). The
// same switch as above, level observer only; the difference is what making the
// consumer costs.
{
  const cold = await startBenchChorus({ rooms: { forwardK: 2, maxConsumersPerListener: 2 } });
  const peers: NodePeer[] = [];
  for (let i = 0; i < 6; i++) {
    const p = await NodePeer.join(cold.target, 'cold', `P${i}`, opus, { talking: i < 2, onRtp });
    arrivals.set(p, []);
    peers.push(p);
  }
  await sleep(1500);
  const [a, , c, ...listeners] = peers;
  const { samples, voices } = await trialsOf(listeners, c!, a!);
  console.log(`
Switch to a new speaker nobody holds a consumer of (K = 2, 2 consumers per listener, level observer only, ${trials} switches × ${listeners.length} listeners):`);
  console.log(`  first loud packet sent → first packet at a listener: ${report(samples)}`);
  console.log(`  most voices a listener received at once: ${voices} (K + 1 = 3)`);
  await Promise.all(peers.map((p) => p.close()));
  await cold.stop();
}

// --- 3. bytes per listener and worker CPU, K = 3 vs K = 0 -------------------
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
