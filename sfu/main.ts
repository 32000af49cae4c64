// `npm start`: load and validate the config, start Chorus, stop cleanly on SIGINT/SIGTERM.
import { ConfigError, loadConfig } from './config/load.ts';
import { createLogger } from './log.ts';
import { startChorus } from './server.ts';

let config;
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
// A bug in one request must not take every call down with it: log and go on.
process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: reason as Error }));
process.on('uncaughtException', (error) => log.error('uncaught exception', { error }));

let server;
try {
  server = await startChorus(config, log);
} catch (err) {
  log.error(`Chorus cannot start: ${(err as Error).message}`);
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    void server.stop().then(() => process.exit(0));
  });
}
