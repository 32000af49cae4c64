// Imported first by main.tsx, before any schema is built: Chorus's
// Content-Security-Policy allows no eval, and zod, unless told it is jitless,
// probes Function('') when it builds object schemas (a CSP violation report,
// then its interpreted parsers anyway).
import { config } from 'zod';

config({ jitless: true });
