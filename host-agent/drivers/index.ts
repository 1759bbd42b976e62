import type { AgentConfig } from '../config.js';
import type { ComputeDriver } from './driver.js';
import { FakeDriver } from './fake.js';

/** The driver the config names (Nova's compute_driver). */
export function createDriver(config: AgentConfig): ComputeDriver {
  switch (config.driver) {
    case 'fake':
      return new FakeDriver({
        inventory: { vcpus: config.fake.vcpus, memory_mb: config.fake.memory_mb, disk_gb: config.fake.disk_gb },
        spawnDelayMs: config.fake.spawn_delay_ms,
      });
  }
}
