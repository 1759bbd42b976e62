import { defineConfig } from 'vitest/config';
import { testLanes } from './test/support/lanes.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Each worker is a lane with its own local cloud (see test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    maxWorkers: testLanes(),
  },
});
