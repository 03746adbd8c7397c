import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, no network, next to the source) and `docker` (a real Docker
// daemon, real Prometheus and LiteLLM, the vLLM stand-in). Packages resolve to their
// TypeScript sources through the `source` export condition, so tests need no build step;
// CLI tests run the built bin, which `pnpm test` builds first.
const resolve = { conditions: ['source'] };

export default defineConfig({
  test: {
    // In CI, also a machine-readable report, from which .ci/run prints "N passed, N failed".
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.cache/vitest-report.json' }]] : ['default'],
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'images/**/*.test.ts'],
          // CPU-bound property tests (20,000 cases) take 7 s on two cores that the docker
          // project keeps busy at the same time, past vitest's 5 s default.
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        test: {
          name: 'docker',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
