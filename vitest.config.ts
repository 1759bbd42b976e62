import { defineConfig } from 'vitest/config';
import { testLanes } from './test/support/lanes.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Hang guards, not timing assertions: two lanes share two cores with QEMU guests, and a test
    // that runs the openstack CLI fifteen times waits for fifteen Python start-ups.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Each worker is a lane with its own local cloud (see test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    maxWorkers: testLanes(),
  },
});
