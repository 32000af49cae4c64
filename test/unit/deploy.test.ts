// The deployable stack, validated as far as this machine allows (no Docker
// engine runs here; see README): the compose file, the Dockerfile and the
// Prometheus config agree with each other and with Chorus's own config.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { envOverrides, loadConfig } from '../../sfu/config/load.ts';
import { projectRoot } from '../../sfu/paths.ts';

const read = (f: string) => fs.readFileSync(path.join(projectRoot, f), 'utf8');
const compose = YAML.parse(read('docker/compose.yml'));
const dockerfile = read('docker/Dockerfile');
const chorus = compose.services.chorus;

describe('docker/compose.yml', () => {
  it('has the whole stack: chorus, postgres, prometheus, grafana, coturn', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['chorus', 'coturn', 'grafana', 'postgres', 'prometheus']);
  });

  it('sets only environment variables Chorus reads, with values its config accepts', () => {
    for (const name of Object.keys(chorus.environment)) expect(Object.keys(envOverrides), name).toContain(name);
    // Substitute the compose defaults (${VAR:-default}) and validate as Chorus would at startup.
    const env = Object.fromEntries(
      Object.entries(chorus.environment as Record<string, string>).map(([k, v]) => [k, v.replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
    );
    const config = loadConfig({ env });
    expect(config.database.url).toMatch(/@postgres:5432\//);
    expect(config.turn.urls.length).toBe(2);
  });

  it('publishes one UDP and one TCP port per worker, the ones the Dockerfile exposes', () => {
    const workers = Number(chorus.environment.CHORUS_WORKERS);
    const base = Number(chorus.environment.CHORUS_RTC_PORT_BASE);
    const range = `${base}-${base + workers - 1}`;
    expect(chorus.ports).toEqual(expect.arrayContaining([`${range}:${range}/udp`, `${range}:${range}/tcp`]));
    expect(dockerfile).toContain(`EXPOSE 3000 ${range}/udp ${range}/tcp`);
  });

  it('gives coturn the same TURN secret as Chorus', () => {
    const secretExpr = /\$\{TURN_SECRET:-[^}]*\}/;
    const chorusSecret = String(chorus.environment.CHORUS_TURN_SECRET).match(secretExpr)?.[0];
    expect(chorusSecret).toBeDefined();
    expect(compose.services.coturn.command).toContain(`--static-auth-secret=${chorusSecret}`);
    expect(compose.services.coturn.command).toContain('--use-auth-secret');
  });

  it('mounts Grafana provisioning and dashboards from folders that exist', () => {
    for (const volume of compose.services.grafana.volumes as string[]) {
      const source = volume.split(':')[0]!;
      expect(fs.existsSync(path.join(projectRoot, 'docker', source)), source).toBe(true);
    }
  });

  it('points Prometheus at the chorus service port, in a config promtool accepts', () => {
    const prom = YAML.parse(read('docker/prometheus.yml'));
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual(['chorus:3000']);
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
