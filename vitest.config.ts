import { defineConfig } from 'vitest/config';

// Tests run from TypeScript sources: the `tbuild-source` export condition points every
// workspace package at src/, so no build step is needed before `pnpm test`.
export default defineConfig({
  resolve: { conditions: ['tbuild-source'] },
  ssr: { resolve: { conditions: ['tbuild-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
  },
});
