import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../sfu/config/load.ts';
import { turnCredentials } from '../../sfu/media/turnCredentials.ts';

describe('TURN credentials (coturn use-auth-secret)', () => {
  it('uses "<expiry>:<user>" and base64 HMAC-SHA1, as computed independently by openssl', () => {
    const now = Date.UTC(2026, 10, 22) ;
    const [server] = turnCredentials(['turn:turn.example.com:3478?transport=udp'], 's3cret', 'p-1', 3600, now);
    expect(server!.username).toBe(`${now / 1000 + 3600}:p-1`);
    const openssl = execFileSync('sh', ['-c', `printf '%s' '${server!.username}' | openssl dgst -sha1 -hmac s3cret -binary | base64`], {
      encoding: 'utf8',
    }).trim();
    expect(server!.credential).toBe(openssl);
    expect(server!.urls).toEqual(['turn:turn.example.com:3478?transport=udp']);
  });

  it('hands out nothing when no TURN server is configured', () => {
    expect(turnCredentials([], 'secret', 'p', 60)).toEqual([]);
  });

  it('reads TURN URLs from a comma-separated CHORUS_TURN_URLS and requires the secret with them', () => {
    const config = loadConfig({ env: { CHORUS_TURN_URLS: 'turn:a:3478, turns:a:5349?transport=tcp', CHORUS_TURN_SECRET: 'x' } });
    expect(config.turn.urls).toEqual(['turn:a:3478', 'turns:a:5349?transport=tcp']);
    expect(() => loadConfig({ env: { CHORUS_TURN_URLS: 'turn:a:3478' } })).toThrow(/turn\.secret/);
    expect(() => loadConfig({ env: { CHORUS_TURN_URLS: 'http://nope', CHORUS_TURN_SECRET: 'x' } })).toThrow(/turn: or turns:/);
  });
});
