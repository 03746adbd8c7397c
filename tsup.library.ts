import { defineConfig } from 'tsup';

/**
 * The build of every library package (each package's tsup.config.ts re-exports it): ESM with
 * declarations, dependencies left external. The CLI has its own config (a bundled bin).
 */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  dts: true,
  clean: true,
  sourcemap: true,
});
