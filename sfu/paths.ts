import { fileURLToPath } from 'node:url';

/** The project's top folder (Chorus runs from its TypeScript sources). */
export const projectRoot = fileURLToPath(new URL('../', import.meta.url));
/** Where `npm run build:web` puts the web client. */
export const webDist = fileURLToPath(new URL('../web/dist', import.meta.url));
