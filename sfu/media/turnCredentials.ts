// Time-limited TURN credentials in coturn's `use-auth-secret` scheme (the
// "TURN REST API"): username = "<expiry unix time>:<user>", password =
// base64(HMAC-SHA1(static-auth-secret, username)). coturn checks the HMAC and
// refuses the username once its time has passed; Chorus never stores them.
import { createHmac } from 'node:crypto';

export interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

export function turnCredentials(
  urls: readonly string[],
  secret: string,
  user: string,
  ttlSeconds: number,
  now = Date.now(),
): IceServer[] {
  if (urls.length === 0 || !secret) return [];
  const username = `${Math.floor(now / 1000) + ttlSeconds}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return [{ urls: [...urls], username, credential }];
}
