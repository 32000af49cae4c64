import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web client is built into web/dist and served by Chorus itself.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: { chunkSizeWarningLimit: 1000, outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/ws': { target: 'ws://localhost:3000', ws: true } } },
});
