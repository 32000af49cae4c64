// Join tokens: JWTs (HS256, via jose) that name the room, the identity, the
// display name and the role of whoever holds them. The server takes the name
// and role from the token only, never from the client.
import { SignJWT, errors, jwtVerify } from 'jose';
import { z } from 'zod';
import { ChorusError } from '../errors.ts';
import { displayName, roleSchema, roomName, type Role } from '../../protocol/messages.ts';

export interface Grant {
  identity: string;
  room: string;
  displayName: string;
  role: Role;
}

const claims = z.object({
  sub: z.string().min(1).max(128),
  room: roomName,
  name: displayName,
  role: roleSchema,
  exp: z.number(),
});

export class TokenService {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  /** A token for `grant`, valid for ttlSeconds. */
  sign(grant: Grant, ttlSeconds: number): Promise<string> {
    return new SignJWT({ room: grant.room, name: grant.displayName, role: grant.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(grant.identity)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.#key);
  }

  /** The grant in `token`, if it is signed by us, unexpired, and for `room`. */
  async verify(token: string, room: string): Promise<Grant> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new ChorusError('TOKEN_EXPIRED', 'the join token has expired: get a new one');
      throw new ChorusError('TOKEN_INVALID', 'the join token is not valid (malformed, or not signed by this server)');
    }
    const parsed = claims.safeParse(payload);
    if (!parsed.success) {
      throw new ChorusError('TOKEN_INVALID', 'the join token lacks a valid room, name or role');
    }
    if (parsed.data.room !== room) {
      throw new ChorusError('TOKEN_WRONG_ROOM', `the join token is for room "${parsed.data.room}", not "${room}"`);
    }
    return { identity: parsed.data.sub, room: parsed.data.room, displayName: parsed.data.name, role: parsed.data.role };
  }
}
