import { defineConfig } from 'vitest/config';

// End-to-end tests: a real dblab-engine (real btrfs pool, real PostgreSQL) driven through
// Debian's chromium with playwright-core. Run by scripts/test-ui.sh (needs root).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
