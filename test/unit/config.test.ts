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

  it('ships a sample config that is valid', () => {
    const sample = path.resolve(import.meta.dirname, '../../config/chorus.sample.yaml');
    expect(() => loadConfig({ env: { CHORUS_CONFIG: sample } })).not.toThrow();
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
