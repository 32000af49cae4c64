// Room and participant lifecycle through the real protocol, a real mediasoup
// worker and a real PostgreSQL: who sees whom, which mediasoup objects exist,
// that everything is closed afterwards, and what is recorded.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { openDatabase } from '../../sfu/db/database.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { opusRtpParameters, remoteDtlsParameters } from '../support/media.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { until } from '../support/wait.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';

let chorus: TestChorus;
const clients: ProtocolClient[] = [];
const peers: NodePeer[] = [];

async function connect(): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(chorus.wsUrl);
  clients.push(c);
  return c;
}

async function join(room: string, displayName: string) {
  const c = await connect();
  const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token: await chorus.token(room, displayName) });
  return { c, joined };
}

/** Join, send a microphone and receive: everything a browser does. */
async function joinWithMedia(room: string, displayName: string) {
  const { c, joined } = await join(room, displayName);
  const send = await c.call('createTransport', { direction: 'send' });
  await c.call('connectTransport', { transportId: send.id, dtlsParameters: remoteDtlsParameters });
  const { producerId } = await c.call('produce', { transportId: send.id, kind: 'audio', rtpParameters: opusRtpParameters() });
  await c.call('createTransport', { direction: 'recv' });
  await c.call('consume', { rtpCapabilities: joined.routerRtpCapabilities });
  return { c, joined, producerId: producerId as string };
}

async function routerDump(room: string) {
  return chorus.rooms.rooms.get(room)!.router.dump();
}

beforeEach(async () => {
  chorus = await startTestChorus();
});

afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await chorus.stop();
});

describe('joining', () => {
  it('tells a joiner who is there, and tells those there about the joiner', async () => {
    const { c: ada, joined: a } = await join('standup', 'Ada');
    expect(a.participants).toEqual([]);
    expect(a.routerRtpCapabilities.codecs!.map((c: { mimeType: string }) => c.mimeType)).toContain('audio/opus');

    const { joined: b } = await join('standup', 'Bob');
    expect(b.participants).toEqual([{ id: a.participantId, displayName: 'Ada', role: 'speaker', muted: false }]);
    const seen = await ada.waitForNotification('participantJoined');
    expect(seen.participant).toEqual({ id: b.participantId, displayName: 'Bob', role: 'speaker', muted: false });
  });

  it('puts people who join a new room at the same moment into one room', async () => {
    const joins = await Promise.all(['A', 'B', 'C', 'D'].map((n) => join('fresh', n)));
    expect(chorus.rooms.rooms.size).toBe(1);
    expect(chorus.pool.workers[0]!.routerCount).toBe(1);
    const ids = new Set(joins.map((j) => j.joined.participantId));
    expect(ids.size).toBe(4);
    expect(chorus.rooms.rooms.get('fresh')!.participants.size).toBe(4);
  });

  it('refuses a join beyond the room size limit', async () => {
    await chorus.stop();
    chorus = await startTestChorus({ rooms: { maxParticipants: 2 } });
    await join('small', 'A');
    await join('small', 'B');
    const c = await connect();
    const reply = await c.request('join', { protocolVersion: PROTOCOL_VERSION, room: 'small', token: await chorus.token('small', 'C') });
    expect(reply).toMatchObject({ ok: false, error: { code: 'ROOM_FULL' } });
  });
});

describe('media objects', () => {
  it('gives each listener a paused consumer of every other producer, run once ready and selected (idle, a slot free)', async () => {
    const ada = await joinWithMedia('call', 'Ada');
    const bob = await joinWithMedia('call', 'Bob');

    const toBob = await bob.c.waitForNotification('newConsumer');
    expect(toBob).toMatchObject({ producerId: ada.producerId, participantId: ada.joined.participantId, kind: 'audio' });
    const toAda = await ada.c.waitForNotification('newConsumer');
    expect(toAda.producerId).toBe(bob.producerId);

    const room = chorus.rooms.rooms.get('call')!;
    const bobServer = room.participants.get(bob.joined.participantId)!;
    const consumer = bobServer.consumers.get(toBob.consumerId)!;
    expect(consumer.paused).toBe(true);
    // Ready: with K = 3 and nobody speaking, Bob has a free slot and Ada sends no audio
    // (idle), so her consumer runs at once, ready for her first word.
    await bob.c.call('consumerReady', { consumerId: toBob.consumerId });
    expect(room.forwardK).toBe(3);
    await until(() => !consumer.paused, 'consumer resumed');
    // A consumer whose client is not ready yet stays paused, whatever the policy.
    const adasConsumer = room.participants.get(ada.joined.participantId)!.consumers.get(toAda.consumerId)!;
    expect(adasConsumer.paused).toBe(true);
    room.setForwardK(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(adasConsumer.paused).toBe(true);
    expect(consumer.paused).toBe(false);

    // Nobody is ever sent their own voice.
    expect(ada.c.notifications.filter((n) => n.notification === 'newConsumer')).toHaveLength(1);
    expect(bob.c.notifications.filter((n) => n.notification === 'newConsumer')).toHaveLength(1);
  });

  it('pauses the producer on mute and tells the others; resumes on unmute', async () => {
    const ada = await joinWithMedia('call', 'Ada');
    const bob = await joinWithMedia('call', 'Bob');
    await ada.c.call('mute', {});
    expect(await bob.c.waitForNotification('producerPaused')).toEqual({ participantId: ada.joined.participantId });
    const room = chorus.rooms.rooms.get('call')!;
    expect(room.participants.get(ada.joined.participantId)!.producer!.paused).toBe(true);

    // A late joiner sees Ada as muted.
    const { joined: cy } = await join('call', 'Cy');
    expect(cy.participants.find((p: { id: string }) => p.id === ada.joined.participantId)!.muted).toBe(true);

    await ada.c.call('unmute', {});
    expect(await bob.c.waitForNotification('producerResumed')).toEqual({ participantId: ada.joined.participantId });
    expect(room.participants.get(ada.joined.participantId)!.producer!.paused).toBe(false);
  });

  it('closes every mediasoup object of a participant who leaves, and tells the others', async () => {
    const ada = await joinWithMedia('call', 'Ada');
    const bob = await joinWithMedia('call', 'Bob');
    await bob.c.waitForNotification('newConsumer');
    await ada.c.waitForNotification('newConsumer');
    let dump = await routerDump('call');
    expect(dump.transportIds).toHaveLength(4);
    expect(dump.mapProducerIdConsumerIds).toHaveLength(2);

    await ada.c.call('leave', {});
    const left = await bob.c.waitForNotification('participantLeft');
    expect(left).toEqual({ participantId: ada.joined.participantId, reason: 'left' });
    // Bob's consumer of Ada's voice is closed with her producer.
    await bob.c.waitForNotification('consumerClosed');
    dump = await routerDump('call');
    expect(dump.transportIds).toHaveLength(2);
    expect(dump.mapProducerIdConsumerIds.map((e) => e.key)).toEqual([bob.producerId]);
    expect(dump.mapProducerIdConsumerIds[0]!.values).toEqual([]);

    // After leaving, requests need a new join.
    const reply = await ada.c.request('mute', {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });
  });

  it('treats a closed socket as leaving', async () => {
    const ada = await joinWithMedia('call', 'Ada');
    const bob = await joinWithMedia('call', 'Bob');
    await ada.c.close();
    expect(await bob.c.waitForNotification('participantLeft')).toEqual({
      participantId: ada.joined.participantId,
      reason: 'disconnected',
    });
    expect((await routerDump('call')).transportIds).toHaveLength(2);
  });

  it('closes everything of a participant whose DTLS handshake fails, and tells the others why', async () => {
    const bob = await joinWithMedia('call', 'Bob');
    // The handshake may fail before Mallory's join sequence is over (her join then
    // fails) or just after (her call then ends): either way the server cleans up.
    const joining = NodePeer.join(chorus, 'call', 'Mallory', opusTonePackets(440), { corruptDtlsFingerprint: true }).then(
      (peer) => peer,
      (err: Error) => err,
    );
    const mallory = (await bob.c.waitForNotification('participantJoined')).participant;
    const left = await bob.c.waitForNotification('participantLeft');
    expect(left).toEqual({ participantId: mallory.id, reason: 'transportFailed' });
    const outcome = await joining;
    try {
      expect((await routerDump('call')).transportIds).toHaveLength(2);
      expect(chorus.rooms.rooms.get('call')!.participants.has(mallory.id)).toBe(false);
      // Mallory's own client is told it is out.
      if (outcome instanceof NodePeer) {
        await until(() => outcome.call.isEnded, "Mallory's call to end");
        expect(outcome.failure?.message).toMatch(/transportFailed/);
      } else {
        expect(outcome).toBeInstanceOf(Error);
      }
    } finally {
      if (outcome instanceof NodePeer) await outcome.close();
    }
  });

  it('closes an empty room shortly after, and keeps it open for a quick rejoin', async () => {
    const ada = await joinWithMedia('call', 'Ada');
    const room = chorus.rooms.rooms.get('call')!;
    await ada.c.call('leave', {});
    // Rejoin within the delay (200 ms in tests): same room.
    await ada.c.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'call', token: await chorus.token('call', 'Ada') });
    expect(chorus.rooms.rooms.get('call')).toBe(room);
    await ada.c.call('leave', {});
    await until(() => room.closed, 'room closed');
    expect(room.router.closed).toBe(true);
    expect(chorus.rooms.rooms.size).toBe(0);
    const worker = chorus.pool.workers[0]!;
    expect((await worker.worker.dump()).routerIds).toEqual([]);
    expect(worker.routerCount).toBe(0);
    expect(worker.consumerCount).toBe(0);
  });
});

describe('session records', () => {
  it('records the room and each participant session with join/leave times and reasons', async () => {
    const ada = await joinWithMedia('records', 'Ada');
    const bob = await join('records', 'Bob');
    await ada.c.call('leave', {});
    await bob.c.close();
    const room = chorus.rooms.rooms.get('records')!;
    await until(() => room.closed, 'room closed');
    expect(await chorus.recorder.flush(5_000)).toBe(true);

    const db = openDatabase(chorus.databaseUrl);
    try {
      const rooms = await db.selectFrom('rooms').selectAll().execute();
      expect(rooms).toHaveLength(1);
      expect(rooms[0]).toMatchObject({ id: room.id, name: 'records', close_reason: 'empty', worker_pid: room.media.pid });
      expect(rooms[0]!.closed_at).toBeInstanceOf(Date);

      const sessions = await db.selectFrom('participant_sessions').selectAll().orderBy('seq').execute();
      expect(sessions.map((s) => [s.display_name, s.leave_reason])).toEqual([
        ['Ada', 'left'],
        ['Bob', 'disconnected'],
      ]);
      for (const s of sessions) {
        expect(s.room_id).toBe(room.id);
        expect(s.left_at!.getTime()).toBeGreaterThanOrEqual(s.joined_at.getTime());
      }
      expect(sessions[0]!.id).toBe(ada.joined.participantId);
    } finally {
      await db.destroy();
    }
  });
});

describe('a worker that dies', () => {
  it('moves its rooms to the other worker and tells their clients, who set media up again there; audio in the other room keeps flowing; new rooms go to the other worker', async () => {
    await chorus.stop();
    chorus = await startTestChorus({ media: { workers: 2 } });
    const ada = await joinWithMedia('doomed', 'Ada');
    const victim = chorus.rooms.rooms.get('doomed')!.media;
    // The next room goes to the other (less loaded) worker: a real call, audio both ways.
    const bob = await NodePeer.join(chorus, 'safe', 'Bob', opusTonePackets(440));
    peers.push(bob);
    const cy = await NodePeer.join(chorus, 'safe', 'Cy', opusTonePackets(660));
    peers.push(cy);
    expect(chorus.rooms.rooms.get('safe')!.media).not.toBe(victim);
    await until(() => bob.packetsFrom(cy.participantId) > 20 && cy.packetsFrom(bob.participantId) > 20, 'audio both ways in the safe room', 15_000);

    const doomed = chorus.rooms.rooms.get('doomed')!;
    const adaThere = doomed.participant(ada.joined.participantId);
    process.kill(victim.pid, 'SIGKILL');
    const moved = await ada.c.waitForNotification('roomMoved');
    await until(() => chorus.pool.workers.length === 1, 'dead worker removed');
    expect(chorus.rooms.rooms.get('doomed')).toBe(doomed);
    expect(doomed.media).toBe(chorus.pool.workers[0]);
    expect(moved.routerRtpCapabilities).toEqual(doomed.router.rtpCapabilities);
    // Ada is still there, with no media: she sets it up again on the new router (same participant).
    expect(doomed.participant(ada.joined.participantId)).toBe(adaThere);
    expect([adaThere.transports.size, adaThere.producer]).toEqual([0, undefined]);
    const send = await ada.c.call('createTransport', { direction: 'send' });
    await ada.c.call('connectTransport', { transportId: send.id, dtlsParameters: remoteDtlsParameters });
    await ada.c.call('produce', { transportId: send.id, kind: 'audio', rtpParameters: opusRtpParameters() });
    expect((await doomed.router.dump()).transportIds).toEqual([send.id]);

    // The other room is unaffected: after the death was handled, audio keeps flowing both ways
    // (about 50 packets a second each way; 50 more is a second of audio).
    const atDeath = [bob.packetsFrom(cy.participantId), cy.packetsFrom(bob.participantId)];
    await until(
      () => bob.packetsFrom(cy.participantId) > atDeath[0]! + 50 && cy.packetsFrom(bob.participantId) > atDeath[1]! + 50,
      'audio both ways after the other worker died',
      15_000,
    );
    expect(bob.failure).toBeUndefined();
    expect(cy.failure).toBeUndefined();
    expect(chorus.rooms.rooms.get('safe')!.participants.size).toBe(2);
    expect((await bob.signaling.request('mute', {})).ok).toBe(true);
    const { joined } = await join('doomed', 'Ada again');
    expect(joined.participants.map((p) => p.id)).toEqual([ada.joined.participantId]);
    const res = await fetch(`${chorus.url}/readyz`);
    expect(res.status).toBe(200);
  });
});
