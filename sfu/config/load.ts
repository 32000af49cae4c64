// Loads the configuration once at startup: config/default.yaml, then the file
// named by CHORUS_CONFIG (if any), then environment variables; validates the
// result and reports every problem in one ConfigError.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { type Config, configSchema } from './schema.ts';
import { weakSecrets } from './secrets.ts';

export const defaultConfigPath = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Environment variables and the config key each one sets. */
export const envOverrides: Record<string, string> = {
  CHORUS_HTTP_HOST: 'http.host',
  PORT: 'http.port',
  CHORUS_HTTP_PORT: 'http.port',
  CHORUS_WORKERS: 'media.workers',
  CHORUS_RTC_LISTEN_IP: 'media.listenIp',
  CHORUS_ANNOUNCED_ADDRESS: 'media.announcedAddress',
  CHORUS_RTC_PORT_BASE: 'media.rtcPortBase',
  CHORUS_WORKER_LOG_LEVEL: 'media.workerLogLevel',
  CHORUS_TURN_URLS: 'turn.urls',
  CHORUS_TURN_SECRET: 'turn.secret',
  CHORUS_AUTH_SECRET: 'auth.secret',
  CHORUS_DEV_TOKENS: 'auth.devTokens',
  CHORUS_ADMIN_SECRET: 'admin.secret',
  DATABASE_URL: 'database.url',
  CHORUS_EMBEDDED_DB_DIR: 'database.embeddedDataDir',
  CHORUS_LOG_LEVEL: 'log.level',
  CHORUS_RESUME_GRACE_MS: 'signaling.resumeGraceMs',
  CHORUS_ALLOWED_ORIGINS: 'signaling.allowedOrigins',
  CHORUS_TRUST_PROXY: 'signaling.trustProxy',
  CHORUS_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  CHORUS_REDIS_URL: 'cluster.redisUrl',
  CHORUS_PUBLIC_URL: 'cluster.publicUrl',
  CHORUS_NODE_ID: 'cluster.nodeId',
};

type Tree = { [key: string]: unknown };
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(file: string, problems: string[]): Tree {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return {};
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length) {
    for (const e of doc.errors) problems.push(`${file}: ${e.message.split('\n')[0]}`);
    return {};
  }
  const value: unknown = doc.toJS() ?? {};
  if (!isTree(value)) {
    problems.push(`${file}: expected a mapping of keys at the top level`);
    return {};
  }
  return value;
}

/** Merges `over` into `base`, recursing into objects; `over` wins. */
function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  }
  return out;
}

function setPath(tree: Tree, keyPath: string, value: unknown): void {
  const keys = keyPath.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys.at(-1)!] = value;
}

/** Env values are text; numbers and booleans are converted, the rest left to validation. */
function fromEnvText(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

export interface LoadOptions {
  env?: Env;
  /** Extra values applied last (tests use this instead of files). */
  overrides?: Tree;
}

export function loadConfig({ env = process.env, overrides = {} }: LoadOptions = {}): Config {
  const problems: string[] = [];
  const sources = new Map<string, string>(); // config key → where its value came from
  let tree = readYaml(defaultConfigPath, problems);

  const userFile = env.CHORUS_CONFIG;
  if (userFile) {
    const file = path.resolve(userFile);
    const user = readYaml(file, problems);
    tree = merge(tree, user);
    const note = (t: Tree, prefix: string) => {
      for (const [k, v] of Object.entries(t)) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (isTree(v)) note(v, key);
        else sources.set(key, file);
      }
    };
    note(user, '');
  }
  for (const [name, key] of Object.entries(envOverrides)) {
    const value = env[name];
    if (value === undefined || (value === '' && name !== 'DATABASE_URL')) continue;
    const text = ['database.url', 'http.host', 'auth.secret', 'admin.secret', 'turn.secret', 'cluster.nodeId'].includes(key);
    const list = key === 'turn.urls' || key === 'signaling.allowedOrigins';
    setPath(tree, key, list ? value.split(',').map((u) => u.trim()).filter(Boolean) : text ? value : fromEnvText(value));
    sources.set(key, `env ${name}`);
  }
  tree = merge(tree, overrides);

  const result = configSchema.safeParse(tree);
  if (!result.success) problems.push(...describe(result.error, sources));
  else for (const [key, msg] of weakSecrets(result.data)) problems.push(`${key}: ${msg}${sources.has(key) ? ` (from ${sources.get(key)})` : ''}`);
  if (problems.length) throw new ConfigError(problems);
  return result.data!;
}

function describe(error: z.ZodError, sources: Map<string, string>): string[] {
  return error.issues.flatMap((issue) => {
    const at = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const key = at ? `${at}.${k}` : k;
        return `${key}: unknown key${sources.has(key) ? ` (from ${sources.get(key)})` : ''}`;
      });
    }
    const from = sources.get(at);
    return [`${at || '(top level)'}: ${issue.message}${from ? ` (from ${from})` : ''}`];
  });
}
