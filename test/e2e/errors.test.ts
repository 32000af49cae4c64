// What a person sees in the browser when something is wrong: a denied
// microphone (they can still listen), a request the server refuses, a server
// that cannot be reached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserParticipant, hearing, launchParticipant } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus;
let browser: BrowserParticipant;

beforeAll(async () => {
  chorus = await startTestChorus();
  browser = await launchParticipant(undefined); // this person denies the microphone
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await chorus?.stop();
});

describe('the web client explains what went wrong', () => {
  it('with the microphone denied: says so, disables mute, and the person still hears the room', async () => {
    const speaker = await NodePeer.join(chorus, 'deny', 'Speaker', opusTonePackets(440));
    try {
      const { page } = browser;
      await page.goto(`${chorus.url}/?room=deny&name=Shy`);
      await page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
      await expect.poll(() => page.getByTestId('mic-error').textContent()).toMatch(/Microphone access was denied/);
      expect(await page.getByTestId('mute').isDisabled()).toBe(true);
      await page.locator('h1').click();
      await expect
        .poll(async () => Object.values(await hearing(page)).map((h) => Math.round(h.hz / 10) * 10), { timeout: 15_000 })
        .toEqual([440]);
      // The server has no producer for the listener.
      const room = chorus.rooms.rooms.get('deny')!;
      const shy = [...room.participants.values()].find((p) => p.displayName === 'Shy')!;
      expect(shy.producer).toBeUndefined();
    } finally {
      await speaker.close();
    }
  });

  it('when the browser blocks autoplay: offers a button, and audio plays after the click', async () => {
    const speaker = await NodePeer.join(chorus, 'autoplay', 'Speaker', opusTonePackets(660));
    const strict = await launchParticipant(undefined, ['--autoplay-policy=user-gesture-required']);
    try {
      const { page } = strict;
      await page.goto(`${chorus.url}/?room=autoplay&name=Visitor`);
      // Wait from the server's side: Playwright's page evaluations count as user
      // gestures, and one before the app's play() would lift the autoplay block.
      const room = chorus.rooms.rooms.get('autoplay')!;
      const visitorHasAudio = () =>
        [...room.participants.values()].some(
          (p) => p.displayName === 'Visitor' && [...p.consumers.values()].some((c) => !c.paused),
        );
      await until(visitorHasAudio, 'the visitor to resume their consumer');
      await new Promise((r) => setTimeout(r, 1500)); // the page attaches the track and tries play()
      const button = page.getByTestId('enable-audio');
      expect(await button.count()).toBe(1);
      const paused = () => page.locator('audio[data-testid="remote-audio"]').evaluateAll((els) => els.map((e) => (e as HTMLAudioElement).paused));
      expect(await paused()).toEqual([true]);
      await button.click();
      await expect.poll(paused).toEqual([false]);
      expect(await button.count()).toBe(0);
    } finally {
      await strict.close();
      await speaker.close();
    }
  });

  it('with a request the server refuses: shows the reason and the code', async () => {
    const { page } = browser;
    // An invitation link whose token has expired: the page skips the dev token and
    // sends it in its join request over the WebSocket, which the server refuses.
    const expired = await chorus.tokens.sign({ identity: 'late', room: 'refused', displayName: 'Late', role: 'speaker' }, -60);
    const devTokenRequests: string[] = [];
    const onRequest = (r: { url(): string }) => r.url().includes('/dev/token') && devTokenRequests.push(r.url());
    page.on('request', onRequest);
    await page.goto(`${chorus.url}/?room=refused&token=${expired}`);
    const alert = page.getByTestId('error');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/join token has expired.*\(TOKEN_EXPIRED\)/);
    page.off('request', onRequest);
    expect(devTokenRequests).toEqual([]);
    // The join form is back, filled in, to retry.
    expect(await page.locator('input[name="room"]').inputValue()).toBe('refused');
  });

  it('with an invitation link: takes the token out of the address bar, and a reload and Rejoin still use it', async () => {
    const { page } = browser;
    const token = await chorus.tokens.sign({ identity: 'guest', room: 'invited', displayName: 'Guest', role: 'speaker' }, 600);
    const devTokenRequests: string[] = [];
    const onRequest = (r: { url(): string }) => r.url().includes('/dev/token') && devTokenRequests.push(r.url());
    page.on('request', onRequest);
    const inRoom = () => [...(chorus.rooms.rooms.get('invited')?.participants.values() ?? [])].map((p) => p.identity);
    try {
      await page.goto(`${chorus.url}/?room=invited&token=${token}`);
      await page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
      expect(page.url()).not.toContain('token');
      expect(new URL(page.url()).searchParams.get('room')).toBe('invited');
      expect(inRoom()).toEqual(['guest']);
      // A reload joins again with the invitation (kept in the tab's sessionStorage).
      await page.reload();
      await page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
      await until(() => inRoom().length === 1 && inRoom()[0] === 'guest', 'the guest back in the room');
      expect(page.url()).not.toContain('token');
      // Leave, then Rejoin from the form: the invitation again, not a dev token.
      await page.getByTestId('leave').click();
      await page.getByRole('button', { name: 'Join' }).waitFor();
      await until(() => inRoom().length === 0, 'the guest gone');
      await page.getByRole('button', { name: 'Join' }).click();
      await page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
      expect(inRoom()).toEqual(['guest']);
      expect(devTokenRequests).toEqual([]);
      await page.getByTestId('leave').click();
    } finally {
      page.off('request', onRequest);
    }
  });

  it('with the server gone: says it cannot be reached', async () => {
    const { page } = browser;
    await page.goto(`${chorus.url}/`);
    await page.locator('input[name="room"]').fill('later');
    await page.locator('input[name="name"]').fill('Late');
    // The token still comes (answered here, as a proxy in front of a dead server
    // might); it is the WebSocket that cannot connect.
    const token = await chorus.token('later', 'Late');
    let tokensServed = 0;
    await page.route('**/dev/token', (route) => {
      tokensServed++;
      return route.fulfill({ json: { token, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    });
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await chorus.stop();
    chorus = undefined as unknown as TestChorus;
    await page.getByRole('button', { name: 'Join' }).click();
    await expect.poll(() => page.getByTestId('error').textContent()).toMatch(/cannot be reached/);
    expect(tokensServed).toBe(1);
    expect(sockets).toEqual([expect.stringMatching(/\/ws$/)]);
  });
});
