// Soak: rooms churning for a long time, looking for what leaks. Every few
// seconds a room of 4 real WebRTC peers (2 talking) opens, lives ~20 s and
// empties; about 3 rooms run at any time; every 10th room also loses its
// signaling socket once (resumed). Each minute prints the process's memory and
// handles; at the end, with everyone gone, what mediasoup still holds
// (worker.dump(): routers, WebRtcServer transports). The peers run in this
// process too, so memory is the server's and the peers' together: read its
// trend, not its level. Prints figures; asserts nothing.
//
//   npm run bench:soak [-- --minutes 30]
import { NodePeer } from '../client/node/nodePeer.ts';
import { opusTonePackets } from '../client/node/opusTone.ts';
import { machine, startBenchChorus } from './support/benchChorus.ts';

const minutes = Number(process.argv[process.argv.indexOf('--minutes') + 1]) || 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chorus = await startBenchChorus({ media: { workers: 2 }, rooms: { emptyRoomCloseDelayMs: 1000 } });
const opus = opusTonePackets(440);
const started = Date.now();
const endAt = started + minutes * 60_000;
let opened = 0;
let failures = 0;

async function roomLife(n: number): Promise<void> {
  const room = `soak-${n}`;
  const peers: NodePeer[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      peers.push(await NodePeer.join(chorus.target, room, `P${i}`, opus, { talking: i < 2, onFailure: () => failures++ }));
    }
    await sleep(10_000);
    if (n % 10 === 0) (peers[0]!.signaling.socket as unknown as { terminate(): void }).terminate();
    await sleep(10_000);
  } catch {
    failures++;
  } finally {
    // Half leave by asking, half by closing their socket; then each stops its sender.
    await Promise.all(peers.map(async (p) => (n % 2 ? p.call.leave() : undefined)));
    await Promise.all(peers.map((p) => p.close()));
  }
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const sample = () => {
  const m = process.memoryUsage();
  return {
    minute: Math.round((Date.now() - started) / 60_000),
    rssMiB: mib(m.rss),
    heapMiB: mib(m.heapUsed),
    handles: process.getActiveResourcesInfo().length,
    rooms: chorus.rooms.rooms.size,
    participants: [...chorus.rooms.rooms.values()].reduce((n, r) => n + r.participants.size, 0),
    roomsOpened: opened,
    failures,
  };
};
console.log(`soak: ${minutes} min of churning rooms (${machine()})`);
console.log(JSON.stringify(sample()));
const lives: Promise<void>[] = [];
let nextSample = started + 60_000;
while (Date.now() < endAt) {
  lives.push(roomLife(opened++));
  await sleep(7_000);
  if (Date.now() >= nextSample) {
    console.log(JSON.stringify(sample()));
    nextSample += 60_000;
  }
}
await Promise.all(lives);
await sleep(3_000); // empty rooms close after 1 s
console.log(JSON.stringify(sample()));
for (const w of chorus.pool.workers) {
  const dump = await w.worker.dump();
  const server = await w.webRtcServer.dump();
  console.log(
    `worker ${w.index}: routers ${dump.routerIds.length}, WebRtcServer transports ${server.webRtcTransportIds.length}, consumers counted ${w.consumerCount}`,
  );
}
await chorus.stop();
process.exit(0);
