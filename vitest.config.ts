import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration and end-to-end suites share one local cloud (see test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    fileParallelism: false,
  },
});
