// A small leveled logger: one line per event, "time LEVEL [scope] message {fields}".
// Each component gets a child with its own scope; the level is set once at startup.
import type { LogLevel } from './config/schema.ts';

const ranks: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

export type LogSink = (line: string, level: LogLevel) => void;

const defaultSink: LogSink = (line, level) =>
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);

function format(fields?: Record<string, unknown>): string {
  if (!fields || Object.keys(fields).length === 0) return '';
  return ` ${JSON.stringify(fields, (_k, v: unknown) =>
    v instanceof Error ? { name: v.name, message: v.message } : v,
  )}`;
}

export function createLogger(level: LogLevel, scope = 'chorus', sink: LogSink = defaultSink): Logger {
  const min = ranks[level];
  const at =
    (lvl: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (ranks[lvl] < min) return;
      sink(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} [${scope}] ${msg}${format(fields)}`, lvl);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (sub) => createLogger(level, `${scope}:${sub}`, sink),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger('error', 'silent', () => {});
