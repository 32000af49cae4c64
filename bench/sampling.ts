// What sampling mediasoup statistics for /metrics costs, at 100 participants
// (10 rooms × 10, everyone producing, K = 0 so every consumer runs: the worst
// case, 100 producers + 900 consumers per round). Participants join through the
// real protocol with signaling-only transports (no media flows), so what is
// measured is the cost of the stats requests themselves.
//
//   npm run bench:sampling
import { PROTOCOL_VERSION } from '../protocol/messages.ts';
import { machine, startBenchChorus } from './support/benchChorus.ts';
import { opusRtpParameters } from '../tools/harness/media.ts';
import { SignalingClient } from '../client/signaling.ts';
import { nodeSocket } from '../client/node/nodePeer.ts';

const ROOMS = 10;
const PER_ROOM = 10;
const ROUNDS = 20;

const chorus = await startBenchChorus({
  rooms: { forwardK: 0 },
  metrics: { statsIntervalMs: 600_000 }, // rounds are run by hand below
});
const { target } = chorus;
const clients: SignalingClient[] = [];

for (let r = 0; r < ROOMS; r++) {
  for (let i = 0; i < PER_ROOM; i++) {
    const room = `room${r}`;
    const c = await SignalingClient.connect(target.wsUrl, nodeSocket);
    clients.push(c);
    const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token: await target.token(room, `p${i}`) });
    const send = await c.call('createTransport', { direction: 'send' });
    await c.call('produce', { transportId: send.id, kind: 'audio', rtpParameters: opusRtpParameters() });
    await c.call('createTransport', { direction: 'recv' });
    await c.call('consume', { rtpCapabilities: joined.routerRtpCapabilities });
  }
}
// Acknowledge every consumer so that all of them run.
await new Promise((r) => setTimeout(r, 1000));
for (const c of clients) {
  for (const n of c.notifications) if (n.notification === 'newConsumer') await c.call('consumerReady', { consumerId: n.data.consumerId });
}
await new Promise((r) => setTimeout(r, 500));

const worker = chorus.pool.workers[0]!;
const cpuMs = async () => {
  const u = await worker.worker.getResourceUsage();
  return u.ru_utime + u.ru_stime;
};
const idle0 = await cpuMs();
await new Promise((r) => setTimeout(r, 5000));
const idleMsPerSec = ((await cpuMs()) - idle0) / 5;

const w0 = await cpuMs();
const n0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < ROUNDS; i++) await chorus.sampler.sample();
const wall = (performance.now() - t0) / ROUNDS;
const workerPerRound = ((await cpuMs()) - w0) / ROUNDS - idleMsPerSec * (wall / 1000);
const n1 = process.cpuUsage(n0);
const nodePerRound = (n1.user + n1.system) / 1000 / ROUNDS;

console.log(`\nStats sampling at ${ROOMS * PER_ROOM} participants (${worker.consumerCount} consumers, all running):`);
console.log(`  per round: worker CPU ${workerPerRound.toFixed(1)} ms, Node CPU ${nodePerRound.toFixed(1)} ms, wall ${wall.toFixed(1)} ms`);
for (const interval of [1000, 5000, 15000]) {
  console.log(
    `  every ${interval / 1000} s: worker ${((workerPerRound / interval) * 100).toFixed(2)}% of a core, Node ${((nodePerRound / interval) * 100).toFixed(2)}% of a core`,
  );
}
console.log(`machine: ${machine()}`);

await Promise.all(clients.map((c) => c.close()));
await chorus.stop();
process.exit(0);
