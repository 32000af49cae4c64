// Raised hands over the protocol: everyone gets the queue in order, a late joiner
// gets it with join, only moderators lower others' hands, a leaver's hand goes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { ProtocolClient } from '../support/protocolClient.ts';

let chorus: TestChorus;
const clients: ProtocolClient[] = [];

async function join(room: string, name: string, role: 'speaker' | 'listener' | 'moderator' = 'speaker') {
  const c = await ProtocolClient.connect(chorus.wsUrl);
  clients.push(c);
  const joined = await c.call('join', { protocolVersion: PROTOCOL_VERSION, room, token: await chorus.token(room, name, role) });
  return { c, id: joined.participantId, joined };
}

beforeAll(async () => {
  chorus = await startTestChorus();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await chorus?.stop();
});

it('tells everyone the queue in raising order; a late joiner gets it in join; moderators lower others, speakers cannot', async () => {
  const mod = await join('hands', 'Mod', 'moderator');
  const ada = await join('hands', 'Ada');
  const bob = await join('hands', 'Bob', 'listener');
  await bob.c.call('raiseHand', {});
  await ada.c.call('raiseHand', {});
  const queue = (hands: { participantId: string }[]) => hands.map((h) => h.participantId);
  for (const { c } of [mod, ada, bob]) {
    const got = await c.waitForNotification('raisedHands', (d) => d.hands.length === 2);
    expect(queue(got.hands)).toEqual([bob.id, ada.id]);
  }
  expect(await ada.c.request('raiseHand', {})).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });

  const late = await join('hands', 'Late');
  expect(queue(late.joined.raisedHands)).toEqual([bob.id, ada.id]);

  expect(await ada.c.request('lowerHand', { participantId: bob.id })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  expect(await mod.c.request('lowerHand', { participantId: 'nobody' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  await mod.c.call('lowerHand', { participantId: bob.id });
  // (Bob's own raise was once the only hand too: wait for the queue without him.)
  await bob.c.waitForNotification('raisedHands', (d) => d.hands.length === 1 && d.hands[0]!.participantId === ada.id);

  // Ada leaves with her hand up: it goes from everyone's queue.
  await ada.c.call('leave', {});
  await late.c.waitForNotification('raisedHands', (d) => d.hands.length === 0);
});

it('answers RATE_LIMITED to someone who keeps raising and lowering', async () => {
  const eve = await join('handspam', 'Eve');
  for (let i = 0; i < 5; i++) {
    await eve.c.call('raiseHand', {});
    await eve.c.call('lowerHand', {});
  }
  expect(await eve.c.request('raiseHand', {})).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
});
