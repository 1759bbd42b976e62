import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, loadAgentConfig, qemuInstalled } from '../../../host-agent/config.js';
import { tempDir } from './support.js';

const QUEUE = 'http://localhost:9324/000000000000/novaless-conductor';

async function configFile(content: unknown): Promise<string> {
  const file = join(await tempDir(), 'agent.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('host agent config', () => {
  it('fills the defaults', async () => {
    const config = await loadAgentConfig({ flags: { host: 'compute-1', 'conductor-queue-url': QUEUE } });
    expect(config).toMatchObject({
      host: 'compute-1',
      availability_zone: 'nova',
      driver: qemuInstalled() ? 'qemu' : 'fake',
      heartbeat_interval_seconds: 10,
      max_parallel_builds: 10,
      fake: { spawn_delay_ms: 0 },
      allocation_ratios: {},
    });
  });

  it('reads the file, then environment variables, then flags, each overriding the previous', async () => {
    const file = await configFile({
      host: 'from-file',
      availability_zone: 'az-file',
      conductor_queue_url: QUEUE,
      state_dir: '/tmp/file',
      fake: { vcpus: 4, memory_mb: 2048, disk_gb: 20 },
      allocation_ratios: { cpu: 16, ram: 1.5 },
    });
    const config = await loadAgentConfig({
      file,
      env: { HOST_AGENT_AZ: 'az-env', HOST_AGENT_VCPUS: '6' },
      flags: { host: 'from-flag', 'memory-mb': '4096', 'spawn-delay-ms': '250' },
    });
    expect(config).toMatchObject({
      host: 'from-flag',
      availability_zone: 'az-env',
      state_dir: '/tmp/file',
      fake: { vcpus: 6, memory_mb: 4096, disk_gb: 20, spawn_delay_ms: 250 },
      allocation_ratios: { cpu: 16, ram: 1.5 },
    });
  });

  it('takes the conductor queue URL from CONDUCTOR_QUEUE_URL', async () => {
    const config = await loadAgentConfig({ flags: { host: 'h' }, env: { CONDUCTOR_QUEUE_URL: QUEUE } });
    expect(config.conductor_queue_url).toBe(QUEUE);
  });

  it('names every invalid setting', async () => {
    const error = await loadAgentConfig({ flags: { host: 'bad host!', vcpus: 'many', driver: 'xen' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/host/);
    expect(message).toMatch(/fake\.vcpus/);
    expect(message).toMatch(/driver must be "qemu" or "fake"/);
    expect(message).toMatch(/conductor_queue_url/);
  });

  it('rejects unknown keys in the file, so a typo does not pass silently', async () => {
    const file = await configFile({ host: 'h', conductor_queue_url: QUEUE, heartbeat_interval: 5 });
    await expect(loadAgentConfig({ file })).rejects.toThrow(/heartbeat_interval/);
  });

  it('reports a file that is missing or not JSON', async () => {
    await expect(loadAgentConfig({ file: '/nonexistent/agent.json' })).rejects.toThrow(/cannot read config file/);
    await expect(loadAgentConfig({ file: await configFile('{nope') })).rejects.toThrow(/not valid JSON/);
  });
});
