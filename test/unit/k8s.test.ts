// The Kubernetes manifests (deploy/k8s), validated as far as this machine
// allows: no Kubernetes cluster (nor API server) runs here, so nothing is
// applied or scheduled. Checked offline: every object against the Kubernetes
// API schema (kubernetes-models: types, required fields, formats; it does not
// refuse unknown fields), and against Chorus itself: the environment and config
// file the pods get pass Chorus's config validation in cluster mode, the
// container ports are the config's HTTP port and RTC ports, the probes and the
// scrape annotation hit real routes (the real koa app answers them), the grace
// period outlasts the drain, no secret is inlined, the Services, the
// PodDisruptionBudget, the Ingress and Redis point at what exists.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as k8s from 'kubernetes-models';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { envOverrides, loadConfig } from '../../sfu/config/load.ts';
import { createHttpApp } from '../../sfu/http/app.ts';
import { metricsRoutes } from '../../sfu/http/metricsRoute.ts';
import { createLogger } from '../../sfu/log.ts';
import { Metrics } from '../../sfu/metrics/metrics.ts';
import { projectRoot } from '../../sfu/paths.ts';

const dir = path.join(projectRoot, 'deploy/k8s');
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };
const kustomization = YAML.parse(read('kustomization.yaml')) as { namespace: string; resources: string[] };
const objects: Obj[] = kustomization.resources.flatMap((f) => YAML.parseAllDocuments(read(f)).map((d) => d.toJS() as Obj));
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const all = (kind: string) => objects.filter((o) => o.kind === kind);

const sts = all('StatefulSet')[0]!;
const pod = sts.spec.template.spec;
const container = pod.containers[0];
const configMaps = new Map(all('ConfigMap').map((c) => [c.metadata.name, c.data as Record<string, string>]));

/** What the pod's fieldRefs give, for the first pod of the StatefulSet on a node with a public address. */
const fields: Record<string, string> = { 'metadata.name': `${sts.metadata.name}-0`, 'status.hostIP': '203.0.113.7' };
/** The Secret an operator creates (README, Kubernetes): key → a real-looking value. */
const operatorSecret: Record<string, string> = {
  'auth-secret': 'kq3VJ9v0xW2pZr7TnB4yL8sHcF1mD6aE',
  'database-url': 'postgres://chorus:pw@postgres.example.com:5432/chorus',
  'admin-secret': 'u7Hc2Kd9Qw4Lx1Vb',
};

/** The container's environment as the kubelet builds it: envFrom ConfigMaps, then env ($(VAR) expanded). */
function podEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) Object.assign(env, configMaps.get(from.configMapRef.name));
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_m, v: string) => env[v] ?? `$(${v})`);
    else if (e.valueFrom.fieldRef) env[e.name] = fields[e.valueFrom.fieldRef.fieldPath]!;
    else if (e.valueFrom.secretKeyRef) env[e.name] = operatorSecret[e.valueFrom.secretKeyRef.key]!;
  }
  return env;
}

/** The config file the pod reads: the ConfigMap volume mounted where CHORUS_CONFIG points, written to a temp folder. */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-k8s-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function podConfig() {
  const env = podEnv();
  const file = env.CHORUS_CONFIG!;
  const mount = container.volumeMounts.find((m: { mountPath: string }) => file.startsWith(`${m.mountPath}/`));
  expect(mount, `a volume mounted where CHORUS_CONFIG (${file}) is`).toBeDefined();
  const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
  const data = configMaps.get(volume.configMap.name)!;
  const key = path.relative(mount.mountPath, file);
  expect(data[key], `${volume.configMap.name} has ${key}`).toBeDefined();
  const local = path.join(tmp, key);
  fs.writeFileSync(local, data[key]!);
  return loadConfig({ env: { ...env, CHORUS_CONFIG: local } });
}

const routeStatus = async (route: string, draining = false) => {
  const metrics = new Metrics({ workers: () => [], roomSizes: () => new Map(), queuedDbWrites: () => 0 }, { perRoomLabels: false });
  const app = createHttpApp({
    readiness: { workers: () => 2, crashLooping: () => [], draining: () => draining, database: async () => true, redis: () => true },
    webRoot: tmp,
    routers: [metricsRoutes(metrics)],
    log: createLogger('error'),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    return (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${route}`)).status;
  } finally {
    server.close();
  }
};

describe('deploy/k8s', () => {
  it('lists every manifest in its kustomization, and each object is valid against the Kubernetes API schema', () => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.namespace).toBe('chorus');
    const models: Record<string, new (o: Obj) => { validate(): void }> = {
      'v1/Namespace': k8s.v1.Namespace,
      'v1/ConfigMap': k8s.v1.ConfigMap,
      'v1/Service': k8s.v1.Service,
      'apps/v1/Deployment': k8s.apps.v1.Deployment,
      'apps/v1/StatefulSet': k8s.apps.v1.StatefulSet,
      'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget,
      'networking.k8s.io/v1/Ingress': k8s.networkingK8sIo.v1.Ingress,
    };
    for (const o of objects) {
      const Model = models[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind} is a kind we check`).toBeDefined();
      expect(() => new Model!(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
    // A schema error is caught (the check is not vacuous).
    const broken = structuredClone(sts);
    broken.spec.template.spec.containers[0].ports[0].containerPort = '3000';
    expect(() => new k8s.apps.v1.StatefulSet(broken).validate()).toThrow(/containerPort must be integer/);
  });

  it('sets only environment variables Chorus reads (or that others expand), with values its config accepts in cluster mode', () => {
    const known = new Set([...Object.keys(envOverrides), 'CHORUS_CONFIG']);
    const expanded = new Set<string>(container.env.flatMap((e: { value?: string }) => [...String(e.value ?? '').matchAll(/\$\((\w+)\)/g)].map((m) => m[1]!)));
    const names: string[] = [...(container.envFrom ?? []).flatMap((f: { configMapRef: { name: string } }) => Object.keys(configMaps.get(f.configMapRef.name)!)), ...container.env.map((e: { name: string }) => e.name)];
    for (const name of names) expect(known.has(name) || expanded.has(name), `${name} is read by Chorus or expanded in another variable`).toBe(true);
    for (const helper of expanded) expect(known.has(helper), `${helper} is only a helper`).toBe(false);
    const config = podConfig();
    expect(config.cluster).toMatchObject({ nodeId: 'chorus-0', publicUrl: 'https://chorus-0.chorus.example.com', redisUrl: 'redis://redis:6379/0' });
    expect(config.media.announcedAddress).toBe('203.0.113.7');
    expect(config.auth.devTokens).toBe(false);
    expect(config.database.url).toMatch(/^postgres:/);
  });

  it('runs nodes with host networking, one per Kubernetes node, keeping cluster DNS', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    const anti = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(anti).toEqual([{ labelSelector: { matchLabels: sts.spec.selector.matchLabels }, topologyKey: 'kubernetes.io/hostname' }]);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    // The StatefulSet's governing Service exists and is headless.
    expect(find('Service', sts.spec.serviceName)?.spec.clusterIP).toBe('None');
  });

  it('opens exactly the config\'s HTTP port and one UDP and one TCP RTC port per worker, as the Dockerfile exposes', () => {
    const config = podConfig();
    const workers = Number(config.media.workers);
    expect(Number.isInteger(workers)).toBe(true);
    const rtc = Array.from({ length: workers }, (_, i) => config.media.rtcPortBase + i);
    const expected = [`${config.http.port}/TCP`, ...rtc.flatMap((p) => [`${p}/UDP`, `${p}/TCP`])].sort();
    const ports = container.ports as { name: string; containerPort: number; protocol: string; hostPort?: number }[];
    expect(ports.map((p) => `${p.containerPort}/${p.protocol}`).sort()).toEqual(expected);
    expect(ports.find((p) => p.name === 'http')?.containerPort).toBe(config.http.port);
    // With host networking a hostPort, if given, must equal the container port.
    for (const p of ports) if (p.hostPort !== undefined) expect(p.hostPort).toBe(p.containerPort);
    const dockerfile = fs.readFileSync(path.join(projectRoot, 'docker/Dockerfile'), 'utf8');
    const range = `${rtc[0]}-${rtc.at(-1)}`;
    expect(dockerfile).toContain(`EXPOSE ${config.http.port} ${range}/udp ${range}/tcp`);
  });

  it('probes and scrapes real routes: ready on /readyz (503 while draining), alive on /healthz, metrics on /metrics', async () => {
    const config = podConfig();
    const probe = (p: { httpGet: { path: string; port: string } }) => {
      expect(container.ports.find((x: { name: string }) => x.name === p.httpGet.port)?.containerPort, `port ${p.httpGet.port}`).toBe(config.http.port);
      return p.httpGet.path;
    };
    expect(probe(container.readinessProbe)).toBe('/readyz');
    expect(probe(container.livenessProbe)).toBe('/healthz');
    expect(probe(container.startupProbe)).toBe('/healthz');
    // The real HTTP app: the kubelet counts 200–399 as success.
    expect(await routeStatus('/readyz')).toBe(200);
    expect(await routeStatus('/readyz', true)).toBe(503);
    expect(await routeStatus('/healthz', true)).toBe(200);
    const scrape = sts.spec.template.metadata.annotations;
    expect(scrape['prometheus.io/scrape']).toBe('true');
    expect(Number(scrape['prometheus.io/port'])).toBe(config.http.port);
    expect(await routeStatus(scrape['prometheus.io/path'])).toBe(200);
  });

  it('drains before it stops: the preStop hook signals Chorus (PID 1) and waits, within a grace period longer than shutdownTimeoutMs', () => {
    const config = podConfig();
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(config.shutdownTimeoutMs + 5_000);
    const command = container.lifecycle.preStop.exec.command as string[];
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(command[2]).toMatch(/^kill -TERM 1;/);
    expect(command[2]).toMatch(/while kill -0 1/);
    // PID 1 is Chorus only if the image starts node itself (exec form, no shell in between).
    const dockerfile = fs.readFileSync(path.join(projectRoot, 'docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^CMD \["node", /m);
    expect(dockerfile).not.toMatch(/^ENTRYPOINT/m);
  });

  it('inlines no secret: they come from one Secret the operator creates, with the keys the README names', () => {
    expect(all('Secret')).toEqual([]);
    const secretKeys = new Set(['auth.secret', 'admin.secret', 'turn.secret', 'database.url']);
    const secretEnv = Object.entries(envOverrides).filter(([, key]) => secretKeys.has(key)).map(([name]) => name);
    for (const [name, data] of configMaps) {
      for (const key of Object.keys(data)) expect(secretEnv, `${name}: ${key}`).not.toContain(key);
      const file = data['chorus.yaml'];
      if (file) {
        const tree = YAML.parse(file) as Record<string, Record<string, unknown>>;
        for (const key of secretKeys) expect(tree[key.split('.')[0]!]?.[key.split('.')[1]!], `${name}: ${key}`).toBeUndefined();
      }
    }
    const fromSecret = container.env.filter((e: { name: string }) => secretEnv.includes(e.name));
    expect(fromSecret.map((e: { name: string }) => e.name).sort()).toEqual(['CHORUS_ADMIN_SECRET', 'CHORUS_AUTH_SECRET', 'DATABASE_URL']);
    const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    for (const e of fromSecret) {
      expect(e.value, e.name).toBeUndefined();
      const ref = e.valueFrom.secretKeyRef;
      expect(ref.name).toBe('chorus');
      expect(readme.includes(`--from-literal=${ref.key}=`), `README creates ${ref.key}`).toBe(true);
    }
    // The TLS certificate too is the operator's (not in the manifests).
    for (const ing of all('Ingress')) for (const t of ing.spec.tls) expect(find('Secret', t.secretName)).toBeUndefined();
  });

  it('never lets a voluntary disruption stop every node', () => {
    const pdb = all('PodDisruptionBudget')[0]!;
    expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(sts.spec.replicas).toBeGreaterThan(1);
  });

  it('runs the Redis that CHORUS_REDIS_URL names, without persistence', () => {
    const url = new URL(podConfig().cluster.redisUrl);
    const service = find('Service', url.hostname)!;
    expect(service, `Service ${url.hostname}`).toBeDefined();
    const port = service.spec.ports.find((p: { port: number }) => p.port === Number(url.port || 6379));
    expect(port, `Service ${url.hostname} port ${url.port}`).toBeDefined();
    const redis = all('Deployment').find((d) => Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v))!;
    expect(redis, 'a Deployment behind the Redis Service').toBeDefined();
    const c = redis.spec.template.spec.containers[0];
    expect(c.ports.find((p: { name: string }) => p.name === port.targetPort)?.containerPort).toBe(6379);
    expect(c.args).toEqual(['--save', '', '--appendonly', 'no']);
  });

  it('routes each node\'s public URL and the shared page host through the Ingress to Services that select them', () => {
    const env = podEnv();
    const ingress = all('Ingress')[0]!;
    const rules = new Map<string, string>(ingress.spec.rules.map((r: { host: string; http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }) => [r.host, r.http.paths[0]!.backend.service.name]));
    for (const r of ingress.spec.rules) {
      const backend = r.http.paths[0].backend.service;
      const service = find('Service', backend.name);
      expect(service, `Service ${backend.name}`).toBeDefined();
      expect(service!.spec.ports.map((p: { name: string }) => p.name)).toContain(backend.port.name);
      expect(service!.spec.ports.find((p: { name: string }) => p.name === backend.port.name).targetPort).toBe('http');
    }
    // Every pod's public URL (CHORUS_PUBLIC_URL as the pod gets it) has a rule to a Service selecting that pod only.
    const template = container.env.find((e: { name: string }) => e.name === 'CHORUS_PUBLIC_URL').value as string;
    for (let i = 0; i < sts.spec.replicas; i++) {
      const podName = `${sts.metadata.name}-${i}`;
      const host = new URL(template.replace('$(POD_NAME)', podName)).hostname;
      const service = find('Service', rules.get(host) ?? '');
      expect(service?.spec.selector, `${host} → ${podName}`).toEqual({ 'statefulset.kubernetes.io/pod-name': podName });
      expect(ingress.spec.tls.flatMap((t: { hosts: string[] }) => t.hosts)).toContain(host);
    }
    expect(new URL(env.CHORUS_PUBLIC_URL!).protocol).toBe('https:');
    // The shared host serves any ready node's page, whose sockets then go to the nodes' hosts: its origin is allowed there.
    const shared = [...rules].filter(([, s]) => find('Service', s)!.spec.selector['statefulset.kubernetes.io/pod-name'] === undefined).map(([h]) => h);
    expect(shared).toHaveLength(1);
    expect(find('Service', rules.get(shared[0]!)!)!.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(podConfig().signaling.allowedOrigins).toContain(`https://${shared[0]}`);
  });
});
