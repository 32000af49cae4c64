// Room chat over the signaling socket: everyone gets each message, late
// joiners get the recent ones, and size and rate are capped.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHAT_MAX_LENGTH, PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { ProtocolClient } from '../support/protocolClient.ts';

let chorus: TestChorus;
const clients: ProtocolClient[] = [];

async function join(room: string, name: string, role: 'speaker' | 'listener' = 'speaker') {
  const c = await ProtocolClient.connect(chorus.wsUrl);
  clients.push(c);
  const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token: await chorus.token(room, name, role) });
  return { c, joined };
}

beforeAll(async () => {
  chorus = await startTestChorus();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await chorus?.stop();
});

it('delivers a message to everyone in the room, the sender included, with the sender named by the server; another room gets nothing', async () => {
  // Eve is in another room before the message is sent.
  const eve = await join('elsewhere', 'Eve');
  expect(eve.joined.chat).toEqual([]);
  const ada = await join('chat', 'Ada');
  const bob = await join('chat', 'Bob', 'listener');
  const { messageId } = await bob.c.call('chat', { text: '  hello all  ' });
  for (const { c } of [ada, bob]) {
    const got = await c.waitForNotification('chatMessage');
    expect(got).toMatchObject({ id: messageId, participantId: bob.joined.participantId, displayName: 'Bob', text: 'hello all' });
    expect(Date.parse(got.at)).toBeGreaterThan(Date.now() - 10_000);
  }
  // Nothing reached Eve: the server broadcasts before it answers Bob, and anything it
  // wrote to Eve's socket would arrive before the echo of her own message below.
  const { messageId: eveMessage } = await eve.c.call('chat', { text: 'anyone?' });
  await eve.c.waitForNotification('chatMessage', (m) => m.id === eveMessage);
  expect(eve.c.notifications.filter((n) => n.notification === 'chatMessage').map((n) => n.data)).toEqual([
    expect.objectContaining({ id: eveMessage, text: 'anyone?' }),
  ]);
  // Nor her room's history: a late joiner there sees only Eve's message.
  const late = await join('elsewhere', 'Zed');
  expect(late.joined.chat.map((m: { id: string }) => m.id)).toEqual([eveMessage]);
});

it('gives late joiners the last 50 messages, oldest first', async () => {
  // Several senders, to stay under each one's rate limit.
  const senders = await Promise.all(Array.from({ length: 12 }, (_, i) => join('history', `Sender${i}`)));
  for (let i = 0; i < 60; i++) await senders[i % 12]!.c.call('chat', { text: `m${i}` });
  const late = await join('history', 'Late');
  expect(late.joined.chat).toHaveLength(50);
  expect(late.joined.chat[0]!.text).toBe('m10');
  expect(late.joined.chat.at(-1)!.text).toBe('m59');
});

it('refuses empty and oversized messages, and more than 5 in 5 seconds', async () => {
  const { c } = await join('caps', 'Spammer');
  expect(await c.request('chat', { text: '   ' })).toMatchObject({ ok: false, error: { code: 'INVALID_MESSAGE' } });
  expect(await c.request('chat', { text: 'x'.repeat(CHAT_MAX_LENGTH + 1) })).toMatchObject({
    ok: false,
    error: { code: 'INVALID_MESSAGE', message: expect.stringMatching(/limited to 1000 characters/) },
  });
  for (let i = 0; i < 5; i++) expect((await c.request('chat', { text: `ok ${i}` })).ok).toBe(true);
  expect(await c.request('chat', { text: 'one too many' })).toMatchObject({
    ok: false,
    error: { code: 'RATE_LIMITED', message: expect.stringMatching(/wait \d s/) },
  });
});

it('needs a joined participant', async () => {
  const c = await ProtocolClient.connect(chorus.wsUrl);
  clients.push(c);
  expect(await c.request('chat', { text: 'hi' })).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });
});
