// Recovery, measured: how long listeners hear nothing when something breaks
// under a call. Two real WebRTC peers (the client core over werift) talk both
// ways; each trial breaks one thing, and the figure is the audio gap at the
// listeners: the longest time between two packets of the other's voice.
// - signaling reset: the WebSocket of one peer cut (a TCP proxy) and restored
//   after 1 s: resumed, media should never stop;
// - worker kill: the room's worker SIGKILLed: the room moves to the other
//   worker with its peers, who set their media up again (same session);
// - restart: Chorus stopped (SIGTERM's path: drain) and started again on the
//   same address: the peers rejoin; also measured from when /healthz answers.
// A UDP outage is not measured here: werift takes 30 s to notice one (its ICE
// consent timeout), a browser 5; see the e2e tests. Prints figures; asserts nothing.
//
//   npm run bench:recovery [-- --trials 10]
import { NodePeer } from '../client/node/nodePeer.ts';
import { opusTonePackets } from '../client/node/opusTone.ts';
import { TcpProxy } from '../tools/harness/tcpProxy.ts';
import { freePort } from '../tools/harness/freePort.ts';
import { type BenchChorus, machine, startBenchChorus } from './support/benchChorus.ts';

const trials = Number(process.argv[process.argv.indexOf('--trials') + 1]) || 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const port = await freePort();
const settings = { http: { port }, media: { workers: 2 }, auth: { secret: 'bench-recovery-secret-of-32-characters!' } };
let chorus: BenchChorus = await startBenchChorus(settings);
const proxy = await new TcpProxy('127.0.0.1', port).start();

/** Arrival time of the latest packet from the other peer, per receiver name; and the longest gap since `reset()`. */
const last = new Map<string, number>();
let longest = 0;
const onRtp = (_from: string, _rtp: unknown, at: number, peer: NodePeer) => {
  const name = peer === ada ? 'ada' : 'bob';
  const before = last.get(name);
  if (before !== undefined) longest = Math.max(longest, at - before);
  last.set(name, at);
};
const target = (c: BenchChorus) => ({ ...c.target, wsUrl: `ws://127.0.0.1:${proxy.port}/ws` });
const ada: NodePeer = await NodePeer.join(target(chorus), 'recovery', 'Ada', opusTonePackets(440), { onRtp, onFailure: () => {} });
const bob: NodePeer = await NodePeer.join(chorus.target, 'recovery', 'Bob', opusTonePackets(660), { onRtp, onFailure: () => {} });

/** Waits until both have heard 50 more packets of the other's voice (the call runs). */
async function heardAgain(): Promise<void> {
  const from = [ada.packetsFrom(bob.participantId), bob.packetsFrom(ada.participantId)];
  while (ada.packetsFrom(bob.participantId) < from[0]! + 50 || bob.packetsFrom(ada.participantId) < from[1]! + 50) await sleep(50);
}
/** The call runs; measure gaps from now on. */
async function steady(): Promise<void> {
  await heardAgain();
  longest = 0;
}

const gaps: Record<string, number[]> = { 'signaling reset': [], 'worker kill': [], restart: [], 'restart, after /healthz': [] };

for (let i = 0; i < trials; i++) {
  await steady();
  await proxy.cut();
  await sleep(1000);
  const resumed = new Promise((r) => ada.call.on('resumed', () => r(undefined)));
  await proxy.restore();
  await resumed;
  await heardAgain();
  gaps['signaling reset']!.push(longest);
}
for (let i = 0; i < trials; i++) {
  await steady();
  const moved = Promise.all([ada, bob].map((p) => new Promise((r) => p.call.on('moved', () => r(undefined)))));
  process.kill(chorus.rooms.rooms.get('recovery')!.media.pid, 'SIGKILL');
  await moved;
  await heardAgain();
  gaps['worker kill']!.push(longest);
}
for (let i = 0; i < trials; i++) {
  await steady();
  const rejoined = Promise.all([ada, bob].map((p) => new Promise((r) => p.call.on('rejoined', () => r(undefined)))));
  const stoppedAt = Date.now();
  await chorus.stop();
  chorus = await startBenchChorus(settings);
  const healthyAt = Date.now(); // startChorus resolves once the HTTP server listens: /healthz answers from now on
  await rejoined;
  while (ada.packetsFrom(bob.participantId) === 0 || bob.packetsFrom(ada.participantId) === 0) await sleep(10);
  const firstAudio = Math.max(last.get('ada')!, last.get('bob')!);
  gaps.restart!.push(firstAudio - stoppedAt);
  gaps['restart, after /healthz']!.push(firstAudio - healthyAt);
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
console.log(`recovery: audio gap at the listeners, ${trials} trials each (${machine()})`);
for (const [what, xs] of Object.entries(gaps)) {
  console.log(`  ${what.padEnd(26)} p50 ${String(Math.round(pct(xs, 50))).padStart(5)} ms   p95 ${String(Math.round(pct(xs, 95))).padStart(5)} ms`);
}
await Promise.all([ada.close(), bob.close()]);
await proxy.cut();
await chorus.stop();
process.exit(0);
