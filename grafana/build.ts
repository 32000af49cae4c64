// Writes the dashboards' JSON (what Grafana provisions) from their typed
// TypeScript sources:  npm run grafana:build
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboards } from './src/index.ts';

const out = fileURLToPath(new URL('./dashboards/', import.meta.url));
for (const [file, d] of Object.entries(dashboards)) {
  fs.writeFileSync(`${out}${file}`, `${JSON.stringify(d, null, 2)}\n`);
  console.log(`wrote grafana/dashboards/${file}`);
}
