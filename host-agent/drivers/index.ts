import type { Logger } from '@aws-lambda-powertools/logger';
import { join } from 'node:path';
import { objects } from '../../shared/aws.js';
import type { AgentConfig } from '../config.js';
import { ImageCache } from '../image-cache/image-cache.js';
import { guestNetworking } from '../network/prerequisites.js';
import type { ComputeDriver } from './driver.js';
import { FakeDriver } from './fake.js';
import { cachedKvmVerdict, chooseVirtType, detectKvm, hostKvmProbes } from './qemu/kvm-detect.js';
import { QemuDriver } from './qemu/qemu-driver.js';

/** The driver the config names (Nova's compute_driver). */
export async function createDriver(config: AgentConfig, log: Logger): Promise<ComputeDriver> {
  switch (config.driver) {
    case 'fake':
      return new FakeDriver({
        inventory: { vcpus: config.fake.vcpus, memory_mb: config.fake.memory_mb, disk_gb: config.fake.disk_gb },
        spawnDelayMs: config.fake.spawn_delay_ms,
      });
    case 'qemu': {
      if (!config.image_bucket) throw new Error('the qemu driver needs image_bucket (--image-bucket): the S3 bucket the images are in');
      const { virt_type, reason } = await virtTypeOf(config);
      log.info(`guests run under ${virt_type === 'kvm' ? 'KVM' : 'TCG (no KVM)'}`, { virt_type, reason });
      const networking = guestNetworking();
      if (!networking.ok) log.warn(`guests start without networking: ${networking.why}`);
      return new QemuDriver({
        stateDir: config.state_dir,
        images: new ImageCache({ dir: join(config.state_dir, 'images'), bucket: config.image_bucket, s3: objects(), log }),
        virtType: virt_type,
        log,
        maxParallelSnapshots: config.max_parallel_snapshots,
        softRebootTimeoutSec: config.qemu.soft_reboot_timeout_seconds,
        netns: config.network.netns,
        networking: networking.ok,
      });
    }
  }
}

/** The configured virt type, or the detected one (probed once per boot of the host, see kvm-detect.ts). */
export async function virtTypeOf(config: AgentConfig) {
  if (config.qemu.virt_type === 'qemu') return chooseVirtType('qemu', { usable: false, reason: 'not probed' });
  const kvm = await cachedKvmVerdict(join(config.state_dir, 'kvm-probe.json'), () => detectKvm(hostKvmProbes()));
  return chooseVirtType(config.qemu.virt_type, kvm);
}
