import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../sfu/config/load.ts';

function tempYaml(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-config-')), 'chorus.yaml');
  fs.writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('loads the documented defaults from config/default.yaml', () => {
    const config = loadConfig({ env: {} });
    expect(config.http.port).toBe(3000);
    expect(config.media.workers).toBe('auto');
    expect(config.media.rtcPortBase).toBe(40000);
    expect(config.database.url).toBe('');
    expect(config.log.level).toBe('info');
  });

  it('applies a config file, then environment variables over it', () => {
    const file = tempYaml('http:\n  port: 4000\nmedia:\n  workers: 3\n');
    const config = loadConfig({
      env: { CHORUS_CONFIG: file, CHORUS_WORKERS: '2', DATABASE_URL: 'postgres://u@db:5432/chorus' },
    });
    expect(config.http.port).toBe(4000);
    expect(config.media.workers).toBe(2);
    expect(config.database.url).toBe('postgres://u@db:5432/chorus');
    expect(config.http.host).toBe('0.0.0.0'); // untouched default
  });

  it('ships a sample config that is valid once its placeholder secrets are replaced', () => {
    const sample = path.resolve(import.meta.dirname, '../../config/chorus.sample.yaml');
    expect(problemsOf(() => loadConfig({ env: { CHORUS_CONFIG: sample } }))).toEqual([
      expect.stringMatching(/^auth\.secret: is a placeholder, refused when auth\.devTokens is off.*\(from .*chorus\.sample\.yaml\)$/),
      expect.stringMatching(/^admin\.secret: is a placeholder.*\(from .*chorus\.sample\.yaml\)$/),
    ]);
    const real = { CHORUS_AUTH_SECRET: 'kq3VJ9v0xW2pZr7TnB4yL8sHcF1mD6aE', CHORUS_ADMIN_SECRET: 'Zt5wQn8Rk2Lp9XvB' };
    expect(() => loadConfig({ env: { CHORUS_CONFIG: sample, ...real } })).not.toThrow();
  });

  it('refuses placeholder and too-short secrets when dev tokens are off, naming each and its source', () => {
    const env = {
      CHORUS_DEV_TOKENS: 'false',
      CHORUS_AUTH_SECRET: 'change-me-to-32-or-more-random-characters',
      CHORUS_ADMIN_SECRET: 'CHANGEME-admin-secret',
      CHORUS_TURN_URLS: 'turn:turn.example.com:3478',
      CHORUS_TURN_SECRET: 'short-turn-key',
    };
    const problems = problemsOf(() => loadConfig({ env }));
    expect(problems).toEqual([
      expect.stringMatching(/^auth\.secret: is a placeholder, refused when auth\.devTokens is off: set a random one.*\(from env CHORUS_AUTH_SECRET\)$/),
      expect.stringMatching(/^admin\.secret: is a placeholder.*\(from env CHORUS_ADMIN_SECRET\)$/),
      expect.stringMatching(/^turn\.secret: use a secret of at least 16 characters when auth\.devTokens is off.*\(from env CHORUS_TURN_SECRET\)$/),
    ]);
    // The message a user sees names each.
    expect(() => loadConfig({ env })).toThrow(/invalid configuration:[\s\S]*auth\.secret[\s\S]*admin\.secret[\s\S]*turn\.secret/);
    for (const placeholder of ['your-secret-here-0123456789abcdef', 'replace-me-please-0123456789abcdef', 'example-secret-0123456789abcdefgh']) {
      expect(problemsOf(() => loadConfig({ env: { ...env, CHORUS_AUTH_SECRET: placeholder } }))[0]).toMatch(/^auth\.secret: is a placeholder/);
    }
    // Real secrets pass; an empty admin secret (admin API off) and no TURN need none.
    const real = { CHORUS_AUTH_SECRET: 'kq3VJ9v0xW2pZr7TnB4yL8sHcF1mD6aE', CHORUS_ADMIN_SECRET: 'Zt5wQn8Rk2Lp9XvB', CHORUS_TURN_SECRET: 'u7Hc2Kd9Qw4Lx1Vb' };
    expect(loadConfig({ env: { ...env, ...real } }).turn.secret).toBe(real.CHORUS_TURN_SECRET);
    expect(() => loadConfig({ env: { CHORUS_DEV_TOKENS: 'false', CHORUS_AUTH_SECRET: real.CHORUS_AUTH_SECRET } })).not.toThrow();
    // Dev mode (a laptop) accepts anything, placeholders included.
    expect(() => loadConfig({ env: { ...env, CHORUS_DEV_TOKENS: 'true' } })).not.toThrow();
  });

  it('hands out TURN credentials that live about an hour by default', () => {
    expect(loadConfig({ env: {} }).turn.ttlSeconds).toBe(3600);
  });

  it('names every problem at once: unknown keys, bad values, and where each came from', () => {
    const file = tempYaml('http:\n  prot: 4000\nlog:\n  level: loud\nmedia:\n  listenIp: not-an-ip\n');
    const problems = problemsOf(() =>
      loadConfig({ env: { CHORUS_CONFIG: file, CHORUS_HTTP_PORT: '70000', CHORUS_WORKERS: 'many' } }),
    );
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/http\.prot: unknown key \(from .*chorus\.yaml\)/);
    expect(problems.join('\n')).toMatch(/log\.level: .*\(from .*chorus\.yaml\)/);
    expect(problems.join('\n')).toMatch(/media\.listenIp: .*\(from .*chorus\.yaml\)/);
    expect(problems.join('\n')).toMatch(/http\.port: .*\(from env CHORUS_HTTP_PORT\)/);
    expect(problems.join('\n')).toMatch(/media\.workers: .*\(from env CHORUS_WORKERS\)/);
  });

  it('requires an auth secret once dev tokens are off, and a long enough one', () => {
    expect(problemsOf(() => loadConfig({ env: { CHORUS_DEV_TOKENS: 'false' } }))).toEqual([
      'auth.secret: set auth.secret (CHORUS_AUTH_SECRET): it is required when auth.devTokens is off',
    ]);
    expect(problemsOf(() => loadConfig({ env: { CHORUS_AUTH_SECRET: 'short' } }))[0]).toMatch(
      /auth\.secret: use a secret of at least 32 characters \(from env CHORUS_AUTH_SECRET\)/,
    );
    const ok = loadConfig({ env: { CHORUS_DEV_TOKENS: 'false', CHORUS_AUTH_SECRET: 's'.repeat(32) } });
    expect(ok.auth).toMatchObject({ devTokens: false, secret: 's'.repeat(32) });
  });

  it('cluster mode (CHORUS_REDIS_URL) needs a shared auth secret and this node\'s public URL, even in dev mode', () => {
    expect(problemsOf(() => loadConfig({ env: { CHORUS_REDIS_URL: 'redis://10.0.0.5:6379' } }))).toEqual([
      'auth.secret: set auth.secret (CHORUS_AUTH_SECRET), the same on every node: it is required in cluster mode (cluster.redisUrl)',
      'cluster.publicUrl: set cluster.publicUrl (CHORUS_PUBLIC_URL), the address browsers use for this node: it is required in cluster mode',
    ]);
    const env = { CHORUS_REDIS_URL: 'redis://10.0.0.5:6379', CHORUS_AUTH_SECRET: 's'.repeat(32), CHORUS_PUBLIC_URL: 'https://a.example:3001', CHORUS_NODE_ID: '7' };
    expect(loadConfig({ env }).cluster).toMatchObject({ redisUrl: env.CHORUS_REDIS_URL, publicUrl: env.CHORUS_PUBLIC_URL, nodeId: '7' });
    expect(problemsOf(() => loadConfig({ env: { ...env, CHORUS_REDIS_URL: 'http://x' } }))[0]).toMatch(/^cluster\.redisUrl: .*\(from env CHORUS_REDIS_URL\)/);
    expect(problemsOf(() => loadConfig({ env: { ...env, CHORUS_NODE_ID: 'a b' } }))[0]).toMatch(/^cluster\.nodeId: /);
    // One node alone needs none of it.
    expect(loadConfig({ env: {} }).cluster.redisUrl).toBe('');
  });

  it('rejects a database URL that is not postgres', () => {
    expect(problemsOf(() => loadConfig({ env: { DATABASE_URL: 'mysql://x@y/z' } }))[0]).toMatch(/^database\.url/);
  });

  it('reports a config file that is missing or not YAML', () => {
    expect(problemsOf(() => loadConfig({ env: { CHORUS_CONFIG: '/nonexistent/chorus.yaml' } }))[0]).toMatch(
      /cannot read \(ENOENT\)/,
    );
    expect(problemsOf(() => loadConfig({ env: { CHORUS_CONFIG: tempYaml('http: [1, 2\n') } }))[0]).toMatch(
      /chorus\.yaml: /,
    );
    expect(problemsOf(() => loadConfig({ env: { CHORUS_CONFIG: tempYaml('- a list\n') } }))[0]).toMatch(
      /expected a mapping/,
    );
  });
});
