// The deployable stack, validated as far as this machine allows (no Docker
// engine runs here; see README): the compose file, the Dockerfile and the
// Prometheus config agree with each other and with Chorus's own config.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { envOverrides, loadConfig } from '../../sfu/config/load.ts';
import { projectRoot } from '../../sfu/paths.ts';

const read = (f: string) => fs.readFileSync(path.join(projectRoot, f), 'utf8');
// Merge keys: both Chorus nodes share one anchor (x-chorus, x-chorus-env), as compose reads them.
const compose = YAML.parse(read('docker/compose.yml'), { merge: true });
const dockerfile = read('docker/Dockerfile');
/** The Chorus nodes of the stack (a cluster on one Redis), by service name; `chorus` is node a. */
const nodeServices = ['chorus', 'chorus-b'] as const;
const chorus = compose.services.chorus;

/** docker/turnserver.conf as option → values ("key=value" or a bare flag). */
const turnConf = new Map<string, string[]>();
for (const line of read('docker/turnserver.conf').split('\n')) {
  const t = line.trim();
  if (!t || t.startsWith('#')) continue;
  const [key, ...rest] = t.split('=');
  turnConf.set(key!, [...(turnConf.get(key!) ?? []), rest.join('=')]);
}

/** An IPv4 or IPv6 address as a number in one space (IPv4 as ::ffff:a.b.c.d is not needed here). */
function ipNum(ip: string): bigint {
  if (ip.includes(':')) {
    let [head, tail] = ip.split('::') as [string, string | undefined];
    const parts = (s: string | undefined) => (s ? s.split(':') : []);
    // An IPv4 tail (::ffff:1.2.3.4) becomes two groups.
    const expand = (groups: string[]) =>
      groups.flatMap((g) => (g.includes('.') ? [(ipv4(g) >> 16n).toString(16), (ipv4(g) & 0xffffn).toString(16)] : [g]));
    const h = expand(parts(head));
    const tl = expand(parts(tail));
    const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl] : h;
    return (1n << 128n) + groups.reduce((n, g) => (n << 16n) + BigInt(`0x${g}`), 0n);
  }
  return ipv4(ip);
}
function ipv4(ip: string): bigint {
  return ip.split('.').reduce((n, o) => (n << 8n) + BigInt(Number(o)), 0n);
}
/** coturn's "ip" or "ip1-ip2". */
function parseRange(v: string): [bigint, bigint] {
  const [a, b] = v.split('-') as [string, string | undefined];
  return [ipNum(a), ipNum(b ?? a)];
}
function cidrRange(cidr: string): [bigint, bigint] {
  const [ip, len] = cidr.split('/') as [string, string];
  const bits = ip.includes(':') ? 128n : 32n;
  const n = ipNum(ip);
  const host = (1n << (bits - BigInt(len))) - 1n;
  return [n & ~host, n | host];
}

describe('docker/compose.yml', () => {
  it('has the whole stack: two chorus nodes, redis, postgres, prometheus, grafana, coturn', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['chorus', 'chorus-b', 'coturn', 'grafana', 'postgres', 'prometheus', 'redis']);
  });

  /** A Chorus node's environment as compose would pass it: defaults applied, required variables from `given`. */
  const composeEnv = (given: Record<string, string>, service: (typeof nodeServices)[number] = 'chorus') =>
    Object.fromEntries(
      Object.entries(compose.services[service].environment as Record<string, string>).map(([k, v]) => [
        k,
        v
          .replace(/\$\{(\w+):-([^}]*)\}/g, (_m, name: string, def: string) => given[name] ?? def)
          .replace(/\$\{(\w+):\?[^}]*\}/g, (_m, name: string) => {
            if (!(name in given)) throw new Error(`compose requires ${name}`);
            return given[name]!;
          }),
      ]),
    );
  const realSecrets = { CHORUS_AUTH_SECRET: 'kq3VJ9v0xW2pZr7TnB4yL8sHcF1mD6aE', TURN_SECRET: 'u7Hc2Kd9Qw4Lx1Vb' };

  it('sets only environment variables Chorus reads, with values its config accepts', () => {
    for (const service of nodeServices) {
      for (const name of Object.keys(compose.services[service].environment)) expect(Object.keys(envOverrides), `${service}: ${name}`).toContain(name);
      // Validate as Chorus would at startup, with the secrets an operator sets.
      const config = loadConfig({ env: composeEnv(realSecrets, service) });
      expect(config.database.url).toMatch(/@postgres:5432\//);
      expect(config.turn.urls.length).toBe(2);
    }
  });

  it('runs the two nodes as one cluster: one Redis, one auth secret, their own ids, HTTP ports, RTC ports and public URLs', () => {
    const configs = nodeServices.map((service) => loadConfig({ env: composeEnv(realSecrets, service) }));
    for (const [i, service] of nodeServices.entries()) {
      const config = configs[i]!;
      const env = compose.services[service].environment as Record<string, string>;
      expect(env.CHORUS_AUTH_SECRET, `${service} shares node a's auth secret`).toBe(chorus.environment.CHORUS_AUTH_SECRET);
      expect(compose.services[service].depends_on).toEqual(expect.arrayContaining(['postgres', 'redis']));
      const redis = new URL(config.cluster.redisUrl);
      expect(compose.services[redis.hostname], `${service}'s Redis is a service`).toBeDefined();
      expect(Number(redis.port || 6379)).toBe(6379);
      // Browsers reach the node at its public URL: the host port published for its HTTP port.
      const publicPort = Number(new URL(config.cluster.publicUrl).port);
      expect(compose.services[service].ports).toContain(`${publicPort}:${config.http.port}`);
      expect(publicPort).toBe(config.http.port);
    }
    expect(new Set(configs.map((c) => c.cluster.nodeId)).size).toBe(2);
    expect(new Set(configs.map((c) => c.http.port)).size).toBe(2);
    // Their RTC port ranges do not overlap.
    const [a, b] = configs.map((c) => [c.media.rtcPortBase, c.media.rtcPortBase + Number(c.media.workers) - 1] as const);
    expect(a![1] < b![0] || b![1] < a![0]).toBe(true);
    // Redis keeps nothing that must survive it (README: what Redis holds), and is not published.
    expect(compose.services.redis.command).toEqual(['redis-server', '--save', '', '--appendonly', 'no']);
    expect(compose.services.redis.ports).toBeUndefined();
  });

  it('publishes every host port once', () => {
    const hostPorts = Object.values(compose.services as Record<string, { ports?: string[] }>).flatMap((svc) =>
      (svc.ports ?? []).flatMap((p) => {
        // "host[-range]:container[-range][/proto]"
        const [mapping, proto = 'tcp'] = p.split('/') as [string, string?];
        const [lo, hi = lo] = mapping.split(':')[0]!.split('-').map(Number) as [number, number?];
        return Array.from({ length: hi! - lo + 1 }, (_, i) => `${lo + i}/${proto}`);
      }),
    );
    expect(hostPorts.length).toBeGreaterThan(8);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('runs Chorus with dev tokens off, refusing to start without real secrets', () => {
    for (const service of nodeServices) {
      expect(compose.services[service].environment.CHORUS_DEV_TOKENS, service).toBe('false');
      expect(loadConfig({ env: composeEnv(realSecrets, service) }).auth.devTokens).toBe(false);
    }
    // No secret has a default: compose itself stops without them ...
    expect(() => composeEnv({ TURN_SECRET: realSecrets.TURN_SECRET })).toThrow(/requires CHORUS_AUTH_SECRET/);
    expect(() => composeEnv({ CHORUS_AUTH_SECRET: realSecrets.CHORUS_AUTH_SECRET })).toThrow(/requires TURN_SECRET/);
    expect(read('docker/compose.yml')).not.toMatch(/change-?me/i);
    // ... and Chorus refuses the placeholders of older compose files and samples, and short ones.
    const placeholders = { CHORUS_AUTH_SECRET: 'change-me-to-32-or-more-random-characters', TURN_SECRET: 'change-me-turn-secret' };
    expect(() => loadConfig({ env: composeEnv(placeholders) })).toThrow(/auth\.secret: is a placeholder[\s\S]*turn\.secret: is a placeholder/);
    expect(() => loadConfig({ env: composeEnv({ ...realSecrets, TURN_SECRET: 'tooShort' }) })).toThrow(/turn\.secret: use a secret of at least 16/);
    expect(() => loadConfig({ env: composeEnv({ ...realSecrets, CHORUS_ADMIN_SECRET: 'change-me-admin-secret' }) })).toThrow(
      /admin\.secret: is a placeholder/,
    );
  });

  it('hands out TURN credentials that live about an hour', () => {
    expect(loadConfig({ env: composeEnv(realSecrets) }).turn.ttlSeconds).toBeLessThanOrEqual(3600);
  });

  it('publishes one UDP and one TCP port per worker of each node, node a\'s the ones the Dockerfile exposes', () => {
    for (const service of nodeServices) {
      const env = compose.services[service].environment;
      const workers = Number(env.CHORUS_WORKERS);
      const base = Number(env.CHORUS_RTC_PORT_BASE);
      const range = `${base}-${base + workers - 1}`;
      expect(compose.services[service].ports, service).toEqual(expect.arrayContaining([`${range}:${range}/udp`, `${range}:${range}/tcp`]));
      if (service === 'chorus') expect(dockerfile).toContain(`EXPOSE 3000 ${range}/udp ${range}/tcp`);
    }
  });

  it('checks health on the node\'s own HTTP port (the Dockerfile\'s HEALTHCHECK, run against a server on that port)', async () => {
    const script = /^HEALTHCHECK .* CMD node -e "(.+)"$/m.exec(dockerfile)?.[1];
    expect(script).toBeDefined();
    const server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const run = (env: Record<string, string>) =>
      new Promise<number | null>((resolve) => execFile(process.execPath, ['-e', script!], { env: { PATH: process.env.PATH!, ...env } }, (err) => resolve(err ? (err.code as number) : 0)));
    try {
      expect(await run({ CHORUS_HTTP_PORT: String(port) })).toBe(0);
      expect(await run({ PORT: String(port) })).toBe(0);
      expect(await run({ CHORUS_HTTP_PORT: String(port === 1 ? 2 : 1) })).toBe(1);
    } finally {
      server.close();
    }
  });

  it('gives coturn the same TURN secret as Chorus, and its config file', () => {
    const secretExpr = /\$\{TURN_SECRET:\?[^}]*\}/;
    const chorusSecret = String(chorus.environment.CHORUS_TURN_SECRET).match(secretExpr)?.[0];
    expect(chorusSecret).toBeDefined();
    for (const service of nodeServices) expect(compose.services[service].environment.CHORUS_TURN_SECRET).toBe(chorus.environment.CHORUS_TURN_SECRET);
    const coturn = compose.services.coturn;
    expect(coturn.command).toContain(`--static-auth-secret=${chorusSecret}`);
    const conf = coturn.command[coturn.command.indexOf('-c') + 1];
    expect(coturn.volumes).toContain(`./turnserver.conf:${conf}:ro`);
    expect(turnConf.get('use-auth-secret')).toEqual(['']);
  });

  it('has coturn deny private, loopback and link-local peers, relay UDP only, with quotas', () => {
    const ranges = (turnConf.get('denied-peer-ip') ?? []).map(parseRange);
    const mustDeny = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7', 'fe80::/10'];
    for (const cidr of mustDeny) {
      const [lo, hi] = cidrRange(cidr);
      expect(ranges.some(([a, b]) => a <= lo && hi <= b), `${cidr} denied`).toBe(true);
    }
    // Nothing re-allowed: an allowed-peer-ip overrides the denials.
    expect(turnConf.has('allowed-peer-ip')).toBe(false);
    // Chorus's announced address in the compose example (a public address) is not denied.
    const [pub] = cidrRange('203.0.113.10/32');
    expect(ranges.some(([a, b]) => a <= pub && pub <= b)).toBe(false);
    expect(turnConf.has('no-tcp-relay')).toBe(true);
    expect(turnConf.has('no-multicast-peers')).toBe(true);
    expect(Number(turnConf.get('user-quota')?.[0])).toBeGreaterThan(0);
    expect(Number(turnConf.get('total-quota')?.[0])).toBeGreaterThan(0);
    expect(Number(turnConf.get('user-quota')?.[0])).toBeLessThan(Number(turnConf.get('total-quota')?.[0]));
  });

  it('mounts Grafana provisioning and dashboards from folders that exist', () => {
    for (const volume of compose.services.grafana.volumes as string[]) {
      const source = volume.split(':')[0]!;
      expect(fs.existsSync(path.join(projectRoot, 'docker', source)), source).toBe(true);
    }
  });

  it('points Prometheus at every chorus node\'s HTTP port, in a config promtool accepts', () => {
    const prom = YAML.parse(read('docker/prometheus.yml'));
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual(
      nodeServices.map((service) => `${service}:${loadConfig({ env: composeEnv(realSecrets, service) }).http.port}`),
    );
    expect(chorus.ports).toContain('3000:3000');
    const out = execFileSync('promtool', ['check', 'config', path.join(projectRoot, 'docker/prometheus.yml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });
});

describe('docker/Dockerfile', () => {
  it('copies only files that exist in the repository', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(5);
    for (const s of sources) expect(fs.existsSync(path.join(projectRoot, s)), s).toBe(true);
  });

  it('copies into the runtime stage every top-level folder the server imports from', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    const copied = new Set([...runtime.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/)));
    const folders = new Set<string>();
    const visit = (file: string) => {
      for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = path.resolve(path.dirname(file), spec!);
        const top = path.relative(projectRoot, target).split(path.sep)[0]!;
        if (folders.has(top) && top !== 'sfu') continue;
        folders.add(top);
        if (top !== 'sfu' && fs.existsSync(target)) visit(target);
      }
    };
    for (const file of fs.readdirSync(path.join(projectRoot, 'sfu'), { recursive: true, encoding: 'utf8' })) {
      if (file.endsWith('.ts')) visit(path.join(projectRoot, 'sfu', file));
    }
    expect(folders).toContain('protocol');
    for (const top of folders) expect(copied, `COPY ${top}/`).toContain(`${top}/`);
  });

  it('installs, in the runtime stage, the Debian package of every library the worker links', () => {
    const worker = path.join(projectRoot, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
    const needed = [...execFileSync('readelf', ['-d', worker], { encoding: 'utf8' }).matchAll(/NEEDED.*\[(.+)\]/g)].map((m) => m[1]!);
    const where = new Map(
      [...execFileSync('ldd', [worker], { encoding: 'utf8' }).matchAll(/^\s*(\S+) => (\S+)/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    const baseImage = ['libc6', 'libgcc-s1', 'libstdc++6'];
    for (const lib of needed.filter((l) => !l.startsWith('ld-linux'))) {
      const file = where.get(lib);
      expect(file, `${lib} is resolvable`).toBeDefined();
      const owner = [file!, `/usr${file}`, fs.realpathSync(file!)]
        .map((p) => {
          try {
            return execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
          } catch {
            return undefined;
          }
        })
        .find(Boolean);
      expect(owner, `a Debian package owns ${lib}`).toBeDefined();
      if (!baseImage.includes(owner!)) expect(runtime, `${lib} comes from ${owner}`).toContain(owner!);
    }
  });
});
