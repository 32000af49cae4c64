// Resuming after a signaling drop: the WebSocket goes (a proxy restart, a NAT
// timeout, Wi-Fi), the call does not. Real Chorus, real WebRTC peers; the drop
// is a TCP proxy in front of the signaling port that the test cuts and
// restores (media goes straight to the worker and is not touched).
import { afterEach, describe, expect, it } from 'vitest';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { TcpProxy } from '../support/tcpProxy.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus | undefined;
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await chorus?.stop();
  chorus = undefined;
});

/** Chorus, and a proxy in front of its HTTP/WebSocket port. */
async function setUp(overrides: Parameters<typeof startTestChorus>[0] = {}) {
  chorus = await startTestChorus(overrides);
  const proxy = await new TcpProxy('127.0.0.1', Number(new URL(chorus.url).port)).start();
  closers.push(() => proxy.cut());
  const viaProxy = { ...chorus, wsUrl: `ws://127.0.0.1:${proxy.port}/ws` };
  return { chorus, proxy, viaProxy };
}

/** The longest time between two packets from `from` at `peer`, watched from now on. */
function gapWatch() {
  const last = new Map<string, number>();
  let longest = 0;
  const onRtp = (from: string, _rtp: unknown, at: number, peer: NodePeer) => {
    const key = `${from}->${peer.participantId}`;
    const previous = last.get(key);
    if (previous !== undefined) longest = Math.max(longest, at - previous);
    last.set(key, at);
  };
  return { onRtp, longest: () => longest };
}

describe('a dropped signaling connection', () => {
  it('is resumed: same participant and transports, nobody sees a leave, audio never stops, missed notifications arrive once', async () => {
    const { chorus, proxy, viaProxy } = await setUp();
    const gaps = gapWatch();
    const ada = await NodePeer.join(viaProxy, 'resume', 'Ada', opusTonePackets(440), { onRtp: gaps.onRtp });
    const bob = await NodePeer.join(chorus, 'resume', 'Bob', opusTonePackets(660), { onRtp: gaps.onRtp });
    closers.push(() => ada.close(), () => bob.close());
    await until(() => ada.packetsFrom(bob.participantId) > 20 && bob.packetsFrom(ada.participantId) > 20, 'audio both ways');
    const room = chorus.rooms.rooms.get('resume')!;
    const serverAda = room.participants.get(ada.participantId)!;
    const transportIds = [...serverAda.transports.values()].map((t) => t.id);
    const resumed = new Promise<void>((resolve) => ada.call.on('resumed', resolve));
    const attempts: number[] = [];
    ada.call.on('reconnecting', (n) => attempts.push(n));

    await proxy.cut();
    await until(() => chorus.signaling.detachedCount === 1, 'the server to notice the drop');
    // While Ada is away: Bob mutes and writes; Ada sends a chat message of her own (held until back).
    await bob.signaling.call('mute', {});
    await bob.signaling.call('chat', { text: 'while you were away' });
    const adaWrote = ada.signaling.call('chat', { text: 'sent while away' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(attempts.length, 'reconnect attempts while the server was unreachable').toBeGreaterThan(1);
    await proxy.restore();
    await resumed;
    await adaWrote;

    // The same participant, with the same transports, never left.
    expect(room.participants.get(ada.participantId)).toBe(serverAda);
    expect(serverAda.closed).toBe(false);
    expect([...serverAda.transports.values()].map((t) => t.id)).toEqual(transportIds);
    expect(bob.signaling.notifications.filter((n) => n.notification === 'participantLeft' || n.notification === 'participantJoined')).toEqual([]);
    // What Ada missed arrived, each once.
    await ada.signaling.waitForNotification('producerPaused', (d) => d.participantId === bob.participantId);
    const chats = () => ada.signaling.notifications.flatMap((n) => (n.notification === 'chatMessage' ? [n.data.text] : []));
    await until(() => chats().length === 2, 'both chat messages at Ada');
    expect(chats()).toEqual(['while you were away', 'sent while away']);
    expect(room.chat.history.map((m) => m.text)).toEqual(['while you were away', 'sent while away']);
    // Audio from Ada to Bob never stopped (Bob muted himself, so only that direction).
    const before = bob.packetsFrom(ada.participantId);
    await until(() => bob.packetsFrom(ada.participantId) > before + 25, 'audio after the resume');
    expect(gaps.longest(), 'longest gap between packets (ms)').toBeLessThan(500);
    // And the signaling works as before.
    await ada.signaling.call('mute', {});
    await bob.signaling.waitForNotification('producerPaused', (d) => d.participantId === ada.participantId);
  }, 60_000);

  it('answers a request sent again after a resume with its first answer, without applying it twice', async () => {
    const { chorus } = await setUp();
    const first = await ProtocolClient.connect(chorus.wsUrl);
    const token = await chorus.token('replay', 'Ada');
    const joined = await first.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'replay', token });
    const frame = JSON.stringify({ id: 7, method: 'chat', data: { text: 'only once' } });
    const answer = await first.sendRaw(frame);
    expect(answer).toMatchObject({ id: 7, ok: true });
    first.ws.terminate();
    await until(() => chorus.signaling.detachedCount === 1, 'the server to notice the drop');

    const second = await ProtocolClient.connect(chorus.wsUrl);
    closers.push(() => second.close());
    const resumed = await second.call('resume', {
      protocolVersion: PROTOCOL_VERSION,
      participantId: joined.participantId,
      resumeToken: joined.resume.token,
      token,
      lastSeq: 0,
    });
    expect(resumed.resume.token).not.toBe(joined.resume.token);
    expect(await second.sendRaw(frame)).toEqual(answer);
    expect(chorus.rooms.rooms.get('replay')!.chat.history.map((m) => m.text)).toEqual(['only once']);
    // A new request with a new id runs as usual.
    expect(await second.request('chat', { text: 'again' })).toMatchObject({ ok: true });
    expect(chorus.rooms.rooms.get('replay')!.chat.history).toHaveLength(2);
  });
});

describe('a resume', () => {
  async function joinThenDrop(chorus: TestChorus, room: string, ttlSeconds = 3600) {
    const c = await ProtocolClient.connect(chorus.wsUrl);
    const token = await chorus.tokens.sign({ identity: `id-${room}`, room, displayName: 'Ada', role: 'speaker' }, ttlSeconds);
    const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token });
    c.ws.terminate();
    await until(() => chorus.signaling.detachedCount === 1, 'the server to notice the drop');
    const again = await ProtocolClient.connect(chorus.wsUrl);
    closers.push(() => again.close());
    const resume = (patch: Record<string, unknown> = {}) =>
      again.request('resume', {
        protocolVersion: PROTOCOL_VERSION,
        participantId: joined.participantId,
        resumeToken: joined.resume.token,
        token,
        lastSeq: 0,
        ...patch,
      });
    return { joined, token, resume };
  }

  it('with a wrong credential, or for someone else, is refused with RESUME_FAILED and changes nothing', async () => {
    const { chorus } = await setUp();
    const { resume, joined } = await joinThenDrop(chorus, 'wrong');
    expect(await resume({ resumeToken: 'x'.repeat(32) })).toMatchObject({ ok: false, error: { code: 'RESUME_FAILED' } });
    const mallory = await chorus.tokens.sign({ identity: 'mallory', room: 'wrong', displayName: 'M', role: 'speaker' }, 3600);
    expect(await resume({ token: mallory })).toMatchObject({ ok: false, error: { code: 'RESUME_FAILED' } });
    // The real client still can.
    expect(await resume()).toMatchObject({ ok: true });
    expect(chorus.rooms.rooms.get('wrong')!.participants.has(joined.participantId)).toBe(true);
  });

  it('with a join token that has expired since is refused with TOKEN_EXPIRED', async () => {
    const { chorus } = await setUp();
    const { resume } = await joinThenDrop(chorus, 'expiring', 2);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await resume()).toMatchObject({ ok: false, error: { code: 'TOKEN_EXPIRED' } });
  });

  it('of a participant a moderator removed meanwhile is refused with RESUME_FAILED', async () => {
    const { chorus } = await setUp();
    const { resume, joined } = await joinThenDrop(chorus, 'removed');
    const room = chorus.rooms.rooms.get('removed')!;
    room.remove(room.participant(joined.participantId));
    expect(await resume()).toMatchObject({ ok: false, error: { code: 'RESUME_FAILED' } });
  });

  it('after the grace period is refused: the participant left (disconnected), and the others were told', async () => {
    const { chorus } = await setUp({ signaling: { resumeGraceMs: 800 } });
    const bob = await ProtocolClient.connect(chorus.wsUrl);
    closers.push(() => bob.close());
    await bob.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'late', token: await chorus.token('late', 'Bob') });
    const droppedAt = Date.now();
    const { resume, joined } = await joinThenDrop(chorus, 'late');
    const left = await bob.waitForNotification('participantLeft', (d) => d.participantId === joined.participantId);
    expect(left.reason).toBe('disconnected');
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(800);
    expect(await resume()).toMatchObject({ ok: false, error: { code: 'RESUME_FAILED' } });
  });
});
