// `npm start`: load and validate the config, start Chorus, stop cleanly on SIGINT/SIGTERM.
import { ConfigError, loadConfig } from './config/load.ts';
import { createLogger } from './log.ts';
import { type ChorusServer, startChorus } from './server.ts';
import type { Config } from './config/schema.ts';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Chorus cannot start: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

const log = createLogger(config.log.level);
// A rejected promise nobody awaited is a bug in one request: log it and go on.
process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: reason as Error }));

let server: ChorusServer;
try {
  server = await startChorus(config, log);
} catch (err) {
  log.error(`Chorus cannot start: ${(err as Error).message}`);
  process.exit(1);
}

/**
 * Drains (clients are told and rejoin when we are back, or elsewhere), flushes
 * queued database writes, and exits, within config.shutdownTimeoutMs whatever
 * hangs.
 */
let stopping = false;
function shutdown(why: string, code: number): void {
  if (stopping) return;
  stopping = true;
  log.info(`${why}: draining and stopping`);
  setTimeout(() => {
    log.error('shutdown took too long: exiting now', { timeoutMs: config.shutdownTimeoutMs });
    process.exit(code || 1);
  }, config.shutdownTimeoutMs).unref();
  void server.stop().then(() => process.exit(code));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => shutdown(signal, 0));
// After an exception nothing caught, the process state is unknown: drain and
// exit non-zero so that the supervisor starts a clean one.
process.on('uncaughtException', (error) => {
  log.error('uncaught exception', { error });
  shutdown('uncaught exception', 1);
});
