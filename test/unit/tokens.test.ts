import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenService } from '../../sfu/auth/tokens.ts';

const secret = 'a'.repeat(32);
const tokens = new TokenService(secret);
const grant = { identity: 'u-1', room: 'standup', displayName: 'Ada', role: 'moderator' as const };

async function rejected(token: string, room = 'standup') {
  try {
    await tokens.verify(token, room);
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the token to be refused');
}

describe('join tokens', () => {
  it('round-trips a grant: identity, room, display name, role', async () => {
    expect(await tokens.verify(await tokens.sign(grant, 60), 'standup')).toEqual(grant);
  });

  it('refuses an expired token, saying so', async () => {
    const expired = await new SignJWT({ room: 'standup', name: 'Ada', role: 'speaker' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u-1')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(secret));
    expect(await rejected(expired)).toMatchObject({ code: 'TOKEN_EXPIRED', message: expect.stringMatching(/expired/) });
  });

  it('refuses a token signed with another secret (forged)', async () => {
    const forged = await new TokenService('b'.repeat(32)).sign(grant, 60);
    expect((await rejected(forged)).code).toBe('TOKEN_INVALID');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [h, , sig] = (await tokens.sign(grant, 60)).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'u-1', room: 'standup', name: 'Ada', role: 'moderator', exp: 9e9 })).toString('base64url');
    expect((await rejected(`${h}.${payload}.${sig}`)).code).toBe('TOKEN_INVALID');
  });

  it('refuses unsigned ("alg: none") and garbage tokens', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x","room":"standup","name":"A","role":"moderator","exp":9999999999}').toString('base64url')}.`;
    expect((await rejected(none)).code).toBe('TOKEN_INVALID');
    expect((await rejected('not.a.jwt')).code).toBe('TOKEN_INVALID');
  });

  it('refuses a token for another room, naming both', async () => {
    const r = await rejected(await tokens.sign(grant, 60), 'other');
    expect(r).toMatchObject({ code: 'TOKEN_WRONG_ROOM', message: expect.stringMatching(/"standup", not "other"/) });
  });

  it('refuses tokens without a valid role, name or expiry', async () => {
    const sign = (claims: Record<string, unknown>, exp = true) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('u-1');
      return (exp ? jwt.setExpirationTime('1h') : jwt).sign(new TextEncoder().encode(secret));
    };
    expect((await rejected(await sign({ room: 'standup', name: 'Ada', role: 'admin' }))).code).toBe('TOKEN_INVALID');
    expect((await rejected(await sign({ room: 'standup', name: '  ', role: 'speaker' }))).code).toBe('TOKEN_INVALID');
    expect((await rejected(await sign({ room: 'standup', name: 'Ada', role: 'speaker' }, false))).code).toBe('TOKEN_INVALID');
  });
});
