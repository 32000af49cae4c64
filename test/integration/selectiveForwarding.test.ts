// Selective forwarding with real WebRTC peers (mediasoup-client over werift)
// sending Opus with the audio-level header extension, as browsers do: listeners
// receive the active speakers only, and switch when someone new speaks.
// (Switch times and bytes per listener are measured by bench/forwarding.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus;
let peers: NodePeer[] = [];
const opus = opusTonePackets(440);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function joinPeers(room: string, n: number, talkers: number): Promise<NodePeer[]> {
  const joined: NodePeer[] = [];
  for (let i = 0; i < n; i++) {
    // Silent ones are silent from their first frame: a slot may be free, so a
    // loud frame sent while joining would be forwarded at once.
    const peer = await NodePeer.join(chorus, room, `P${i}`, opus, { talking: i < talkers });
    joined.push(peer);
  }
  peers.push(...joined);
  return joined;
}

/** Packets each listener got from each sender during `ms`. */
async function receivedDuring(listeners: NodePeer[], senders: NodePeer[], ms: number): Promise<number[][]> {
  const before = listeners.map((l) => senders.map((s) => l.packetsFrom(s.participantId)));
  await sleep(ms);
  return listeners.map((l, i) => senders.map((s, j) => l.packetsFrom(s.participantId) - before[i]![j]!));
}

afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
  await chorus?.stop();
});

describe('selective forwarding (K = 3)', () => {
  it('in a room of 8 where 2 speak, every listener receives those 2 and nothing from the 6 silent, whose DTX reaches the server; one of them who talks is heard', async () => {
    chorus = await startTestChorus();
    const all = await joinPeers('eight', 8, 2);
    const [t0, t1] = all;
    const silent = all.slice(2);
    // Everyone is connected and hears the talkers.
    await until(() => silent.every((l) => l.packetsFrom(t0!.participantId) > 10 && l.packetsFrom(t1!.participantId) > 10), 'talkers heard', 15_000);

    const window = await receivedDuring(all, all, 1500);
    all.forEach((listener, i) => {
      all.forEach((sender, j) => {
        const got = window[i]![j]!;
        if (sender === listener) return;
        if (j < 2) expect(got, `P${i} from talker P${j}`).toBeGreaterThan(30);
        else expect(got, `P${i} from silent P${j}`).toBe(0);
      });
    });
    // Not a single packet of a silent participant was forwarded, ever.
    for (const l of all) for (const s of silent) expect(l.packetsFrom(s.participantId)).toBe(0);
    // Everyone is told who speaks: the two talkers, never a silent one.
    const watcher = silent[0]!;
    const told = await watcher.signaling.waitForNotification('speakers', (d) => d.levels.length === 2);
    expect(told.levels.map((l) => l.participantId).sort()).toEqual([t0!.participantId, t1!.participantId].sort());
    expect(told.levels.every((l) => l.speaking && l.level > 0)).toBe(true);
    const spoken = new Set(watcher.signaling.notifications.flatMap((n) => (n.notification === 'speakers' ? n.data.levels.map((l) => l.participantId) : [])));
    for (const s of silent) expect(spoken.has(s.participantId)).toBe(false);
    // The consumers exist: a silent participant who starts speaking needs no renegotiation.
    // With 2 voices and K = 3 a slot is free, so the silent ones' consumers run (their DTX is
    // skipped by the worker, hence the zero counts above) and a first word would pass at once.
    const room = chorus.rooms.rooms.get('eight')!;
    const silentProducers = new Set(silent.map((s) => room.participants.get(s.participantId)!.producer!.id));
    for (const p of room.participants.values()) {
      expect(p.consumers.size).toBe(7);
      for (const c of p.consumers.values()) if (silentProducers.has(c.producerId)) expect(c.paused, `${p.id} consumer of a silent one`).toBe(false);
    }

    // The silence is chosen, not a broken link: the server's producer of every silent
    // peer has received its DTX packets (so its transport is connected and sending)...
    const producerPackets = async (peer: NodePeer) => {
      const stats = await room.participants.get(peer.participantId)!.producer!.getStats();
      return stats.reduce((sum, s) => sum + s.packetCount, 0);
    };
    for (const s of silent) await until(async () => (await producerPackets(s)) >= 3, `DTX from ${s.participantId} at the server`, 10_000);
    // ...and as soon as one of them talks, every other listener hears it (K = 3 leaves a slot).
    const [newTalker] = silent;
    newTalker!.talking = true;
    const others = all.filter((p) => p !== newTalker);
    await until(() => others.every((l) => l.packetsFrom(newTalker!.participantId) > 20), 'the new talker heard by all', 15_000);
  }, 60_000);

  it('forwards someone silent for longer than the hold from their very first loud frame while a slot is free', async () => {
    chorus = await startTestChorus(); // K = 3, hold 1500 ms
    let newTalker: string | undefined;
    // Per listener: RTP timestamps of the new talker's packets since it started (the worker
    // rewrites sequence numbers, not timestamps, so these are the ones the talker sent).
    const heard = new Map<NodePeer, number[]>();
    const onRtp = (from: string, rtp: { header: { timestamp: number } }, _at: number, peer: NodePeer) => {
      if (from === newTalker) heard.get(peer)?.push(rtp.header.timestamp);
    };
    const talker = await NodePeer.join(chorus, 'first-word', 'Talker', opus, { talking: true, onRtp });
    const other = await NodePeer.join(chorus, 'first-word', 'Other', opus, { talking: true, onRtp });
    const l1 = await NodePeer.join(chorus, 'first-word', 'L1', opus, { talking: false, onRtp });
    const l2 = await NodePeer.join(chorus, 'first-word', 'L2', opus, { talking: false, onRtp });
    peers.push(talker, other, l1, l2);
    const listeners = [other, l1, l2];
    await until(() => listeners.every((l) => l.packetsFrom(talker.participantId) > 20), 'talker heard', 15_000);
    await until(() => [talker, l1, l2].every((l) => l.packetsFrom(other.participantId) > 20), 'other heard', 15_000);

    // The talker falls silent (DTX) for longer than the hold; the other one goes on: 1 voice of 3.
    talker.talking = false;
    await sleep(1500 + 1000);
    for (const l of listeners) heard.set(l, []);
    newTalker = talker.participantId;
    talker.talking = true;
    await sleep(1000);
    talker.talking = false;
    await sleep(200);

    const first = talker.talkStart!.timestamp;
    for (const [i, l] of listeners.entries()) {
      const ts = heard.get(l)!;
      // Frames late = (first timestamp received - first timestamp sent) / 960 (20 ms at 48 kHz).
      expect((ts[0]! - first) / 960, `listener ${i}: frames missed at the start`).toBe(0);
      expect(ts.length, `listener ${i} packets`).toBeGreaterThan(40);
    }
  }, 60_000);

  it("offers a late joiner the current speaker's consumer first, before those of silent participants", async () => {
    chorus = await startTestChorus();
    const silent = await joinPeers('late', 4, 0);
    const [talker] = await joinPeers('late', 1, 1); // joins last: last in the room's join order
    // The silent ones' holds from their first packets run out; the talker is the one speaking.
    await sleep(2000);
    await until(() => silent[0]!.packetsFrom(talker!.participantId) > 20, 'talker heard', 15_000);

    const late = await NodePeer.join(chorus, 'late', 'Late', opus);
    peers.push(late);
    const offered = () => late.signaling.notifications.flatMap((n) => (n.notification === 'newConsumer' ? [n.data.participantId] : []));
    await until(() => offered().length === 5, 'five consumers offered', 10_000);
    expect(offered()[0]).toBe(talker!.participantId);
  }, 60_000);

  it('with K = 2, switches to a third speaker who starts as another stops, and holds through a pause', async () => {
    chorus = await startTestChorus({ rooms: { forwardK: 2 } });
    const [a, b, c, listener] = await joinPeers('switch', 4, 2);
    await until(() => listener!.packetsFrom(a!.participantId) > 20 && listener!.packetsFrom(b!.participantId) > 20, 'A and B heard', 15_000);

    // A short pause of A (well under the hold time) with nobody else starting:
    // A stays forwarded (its consumer keeps running), so nothing switches.
    const room = chorus.rooms.rooms.get('switch')!;
    const aConsumerAtListener = () =>
      [...room.participants.get(listener!.participantId)!.consumers.values()].find(
        (x) => x.producerId === room.participants.get(a!.participantId)!.producer!.id,
      )!;
    a!.talking = false;
    await sleep(400);
    expect(aConsumerAtListener().paused).toBe(false);
    a!.talking = true;
    await sleep(300);

    // A stops and C starts: C takes A's slot although A is still within its hold time.
    a!.talking = false;
    c!.talking = true;
    await until(() => listener!.packetsFrom(c!.participantId) > 0, 'C heard', 5_000);
    await until(() => aConsumerAtListener().paused, "A's consumer paused", 5_000);
    const window = await receivedDuring([listener!], [a!, b!, c!], 1000);
    expect(window[0]![0]).toBe(0);
    expect(window[0]![1]).toBeGreaterThan(20);
    expect(window[0]![2]).toBeGreaterThan(20);
  }, 60_000);

  it('with K = 0 forwards every unmuted participant, talking or not', async () => {
    chorus = await startTestChorus({ rooms: { forwardK: 0 } });
    const all = await joinPeers('everyone', 4, 1);
    const [talker, quiet1, , listener] = all;
    await until(() => listener!.packetsFrom(talker!.participantId) > 20, 'talker heard', 15_000);
    // Silent peers send DTX, which is not forwarded (ignoreDtx), but their consumers run:
    // as soon as they talk, they are heard without any selection.
    quiet1!.talking = true;
    await until(() => listener!.packetsFrom(quiet1!.participantId) > 10, 'the quiet one heard', 5_000);
    const room = chorus.rooms.rooms.get('everyone')!;
    const running = [...room.participants.get(listener!.participantId)!.consumers.values()].filter((c) => !c.paused);
    expect(running).toHaveLength(3);
  }, 60_000);

  it("with K = 2 and both slots taken, takes a silent one's voice hint for a moment only: a hint the audio does not confirm buys no slot and no second hint", async () => {
    chorus = await startTestChorus({ rooms: { forwardK: 2 } });
    const all = await joinPeers('hints', 5, 2);
    const [t0, t1, liar, , listener] = all;
    await until(
      () => listener!.packetsFrom(t0!.participantId) > 20 && listener!.packetsFrom(t1!.participantId) > 20,
      'both talkers heard',
      15_000,
    );
    const room = chorus.rooms.rooms.get('hints')!;
    const liarConsumerRuns = () =>
      [...room.participants.get(listener!.participantId)!.consumers.values()].some(
        (c) => c.producerId === room.participants.get(liar!.participantId)!.producer!.id && !c.paused,
      );
    expect(liarConsumerRuns()).toBe(false);
    // The liar claims to start talking but goes on sending DTX only.
    expect(await liar!.signaling.call('speaking', {})).toEqual({ taken: true });
    await new Promise((r) => setTimeout(r, 1500)); // past the 600 ms confirmation window
    expect(liarConsumerRuns()).toBe(false);
    expect(await liar!.signaling.call('speaking', {})).toEqual({ taken: false });
    // The talkers kept their slots all along.
    const before = [listener!.packetsFrom(t0!.participantId), listener!.packetsFrom(t1!.participantId)];
    await until(
      () => listener!.packetsFrom(t0!.participantId) > before[0]! + 25 && listener!.packetsFrom(t1!.participantId) > before[1]! + 25,
      'both talkers still heard',
    );
  }, 60_000);
});
