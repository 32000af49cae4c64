// A short smoke run of chorus-load against a real Chorus: it joins, receives
// audio, measures, and writes its report and plot.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runLoad, summaryTable, urlList } from '../../tools/load/chorusLoad.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { JOIN_STEPS } from '../../client/node/nodePeer.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus;

beforeAll(async () => {
  chorus = await startTestChorus({ metrics: { statsIntervalMs: 500 } });
});

afterAll(async () => {
  await chorus?.stop();
});

it('joins a few participants, measures received packets, and writes its report', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-load-'));
  const running = runLoad({
    url: chorus.url,
    rooms: 1,
    perRoom: 3,
    talkers: 2,
    ramp: 10,
    duration: 4,
    processes: 1,
    out,
    quiet: true,
  });
  // What the server sends the participants, polled while the run lasts (its consumers'
  // outbound counts; they close when the run ends, so the last poll is a lower bound).
  let sent = 0;
  let done = false;
  void running.finally(() => (done = true));
  while (!done) {
    let n = 0;
    for (const p of chorus.rooms.rooms.get('load-0')?.participants.values() ?? []) {
      for (const c of p.consumers.values()) {
        for (const s of await c.getStats().catch(() => [])) if (s.type === 'outbound-rtp') n += s.packetCount;
      }
    }
    sent = Math.max(sent, n);
    await new Promise((r) => setTimeout(r, 100));
  }
  const report = await running;
  expect(report.joined).toBe(3);
  expect(report.failed).toBe(0);
  // Two talkers heard by two listeners each for seconds: hundreds of packets, and the
  // load tool counted (nearly) all that the server sent.
  expect(sent).toBeGreaterThan(200);
  expect(report.receivedPackets).toBeGreaterThanOrEqual(0.95 * sent);
  expect(report.joinLatencyMs.count).toBe(2); // everyone but the room's first talker
  expect(report.joinLatencyMs.p50).toBeGreaterThan(0);
  // Where the joins spent their time: steps done before the first audio arrived
  // (audio needs the join and the receive transport; the rest may come later).
  expect(Object.keys(report.joinStepsMs)).toEqual(expect.arrayContaining(['joined', 'consumerReady', 'recvConnected']));
  for (const [step, { p50 }] of Object.entries(report.joinStepsMs)) {
    expect(JOIN_STEPS).toContain(step);
    expect(p50).toBeGreaterThanOrEqual(0);
    expect(p50).toBeLessThanOrEqual(report.joinLatencyMs.p99!);
  }
  expect(report.steady.forwardedPacketsPerSec).toBeGreaterThan(0);
  expect(report.steady.workerCpuUsPerForwardedPacket).toBeGreaterThan(0);
  expect(report.timeline.length).toBeGreaterThanOrEqual(4);
  expect(report.generatorLoopDelayMs).toHaveLength(1);
  expect(report.generatorLoopDelayMs[0]!.max).toBeGreaterThanOrEqual(report.generatorLoopDelayMs[0]!.p99);

  const written = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  expect(written.joined).toBe(3);
  expect(written.options.authSecret).toBeUndefined();
  expect(fs.readFileSync(path.join(out, 'timeline.svg'), 'utf8')).toMatch(/^<svg[\s\S]*polyline[\s\S]*<\/svg>\n$/);
  expect(summaryTable(report)).toMatch(/worker CPU per forwarded packet\s+\d+(\.\d)? µs/);
  expect(summaryTable(report)).toMatch(/join steps done at, p50 \(p95\)\s+joined \d+ \(\d+\), produced/);
}, 60_000);

it('counts a participant the server drops after joining as a failure, and the others go on receiving', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-load-'));
  // p0 and p1 talk, p2 listens; p2 is dropped, p0 and p1 must go on hearing each other.
  const run = runLoad({ url: chorus.url, rooms: 1, perRoom: 3, talkers: 2, ramp: 10, duration: 5, processes: 1, out, quiet: true });
  const participants = () => [...(chorus.rooms.rooms.get('load-0')?.participants.values() ?? [])];
  // Joined on both sides: a consumer the client has set up comes after the reply that ends its join.
  const everyoneReady = () => {
    const ps = participants();
    return ps.length === 3 && ps.every((p) => [...p.consumers.keys()].some((id) => p.isReady(id)));
  };
  await until(everyoneReady, 'all three joined and receiving', 10_000);
  participants().find((p) => p.displayName === 'p2')!.close('removed');
  const remaining = participants();
  expect(remaining.map((p) => p.displayName).sort()).toEqual(['p0', 'p1']);
  // Packets the server has sent the two remaining participants so far (their consumers' outbound counts).
  const sentToRemaining = async () => {
    let n = 0;
    for (const p of remaining) {
      for (const c of p.consumers.values()) {
        // The consumers of the dropped one's producer close under us: they carried nothing (DTX, paused).
        const stats = await c.getStats().catch(() => []);
        for (const s of stats) if (s.type === 'outbound-rtp') n += s.packetCount;
      }
    }
    return n;
  };
  const atDrop = await sentToRemaining();
  // After the drop the server goes on forwarding to them (two streams, ~100 packets/s)...
  await until(async () => (await sentToRemaining()) > atDrop + 100, 'forwarding to the others after the drop', 10_000);
  const sent = await sentToRemaining();
  const report = await run;
  expect(report.joined).toBe(3);
  expect(report.failed).toBe(1);
  expect(report.failures).toEqual(['after joining: removed by the server: removed']);
  // ...and the load tool counted them received: all the server sent the remaining two
  // (up to a moment well after the drop), on top of what the dropped one had received.
  expect(report.receivedPackets).toBeGreaterThanOrEqual(0.95 * sent);
}, 60_000);

it('counts a consumer the server closed before the client acknowledged it as a race, not a failed participant', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-load-'));
  // The server closes p2's first consumer right after offering it (as when its speaker
  // leaves, or forwarding moves on, before the client's consumerReady arrives).
  const closeFirst = (_room: unknown, p: import('../../sfu/rooms/participant.ts').Participant) => {
    if (p.displayName === 'p2') p.once('consumer', (c) => queueMicrotask(() => p.closeConsumer(c.id)));
  };
  chorus.rooms.on('participantJoined', closeFirst);
  try {
    const report = await runLoad({ url: chorus.url, rooms: 1, perRoom: 3, talkers: 2, ramp: 10, duration: 3, processes: 1, out, quiet: true });
    expect(report.joined).toBe(3);
    expect(report.failed).toBe(0);
    expect(report.failures).toEqual([]);
    expect(report.racedConsumers).toBe(1);
    expect(report.rejoins).toBe(0);
    expect(summaryTable(report)).toMatch(/not failures\s+1 consumers closed before acknowledged \(races\), 0 calls rejoined/);
  } finally {
    chorus.rooms.off('participantJoined', closeFirst);
  }
}, 60_000);

it('takes several URLs, repeated or comma-separated (a cluster: bench/cluster.ts runs it against two nodes)', () => {
  expect(urlList('http://a:1')).toEqual(['http://a:1']);
  expect(urlList(['http://a:1,http://b:2', ' http://c:3 '])).toEqual(['http://a:1', 'http://b:2', 'http://c:3']);
});
