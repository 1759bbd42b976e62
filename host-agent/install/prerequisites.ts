import { mkdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../config.js';
import { findIsoTool } from '../config-drive/config-drive.js';
import { cachedKvmVerdict, chooseVirtType, detectKvm, hostKvmProbes, type KvmProbes } from '../drivers/qemu/kvm-detect.js';
import { qemuImgVersion } from '../drivers/qemu/qemu-img.js';
import { qemuVersion } from '../drivers/qemu/qemu-process.js';
import { checkDataPlanePrerequisites } from '../network/prerequisites.js';

export interface Check {
  name: string;
  ok: boolean;
  /** A failed check that is `required` stops the install. */
  required: boolean;
  detail: string;
}

/** Below this much free space for guests' disks and images, the install warns. */
const MIN_FREE_GIB = 10;

/** What a metal host needs to run guests with the qemu driver, checked as `host-agent install` and `status` show it. */
export async function checkPrerequisites(config: AgentConfig, probes: KvmProbes = hostKvmProbes()): Promise<{ checks: Check[]; virtType: string }> {
  const needsQemu = config.driver === 'qemu';
  const checks: Check[] = [];
  const qemu = await qemuVersion();
  checks.push({ name: 'qemu-system-x86_64', ok: Boolean(qemu), required: needsQemu, detail: qemu ? `QEMU ${qemu.text}` : 'not found on PATH (apt-get install qemu-system-x86)' });
  const img = await qemuImgVersion();
  checks.push({ name: 'qemu-img', ok: Boolean(img), required: needsQemu, detail: img ? `qemu-img ${img}` : 'not found on PATH (apt-get install qemu-utils)' });
  const iso = await findIsoTool();
  checks.push({ name: 'config drive tool', ok: Boolean(iso), required: needsQemu, detail: iso ?? 'none of genisoimage, mkisofs, xorrisofs found (apt-get install genisoimage)' });

  // Guest networking (bridges, VXLAN, nftables, dnsmasq, the metadata proxy): required with real guests.
  for (const c of await checkDataPlanePrerequisites()) checks.push({ ...c, name: `networking: ${c.name}`, required: needsQemu });

  await mkdir(config.state_dir, { recursive: true });
  const kvm = qemu ? await cachedKvmVerdict(join(config.state_dir, 'kvm-probe.json'), () => detectKvm(probes)) : { usable: false, reason: 'no QEMU to probe with' };
  const chosen = chooseVirtType(config.qemu.virt_type, kvm);
  // Not required: without KVM, guests run under TCG (slower, but they run).
  checks.push({ name: 'KVM', ok: kvm.usable, required: false, detail: `${kvm.usable ? 'usable' : 'not usable'}: ${kvm.reason}; guests will run under ${chosen.virt_type === 'kvm' ? 'KVM' : 'TCG'}` });

  const fs = await statfs(config.state_dir);
  const freeGib = (fs.bavail * fs.bsize) / 1024 ** 3;
  checks.push({ name: 'free disk', ok: freeGib >= MIN_FREE_GIB, required: false, detail: `${freeGib.toFixed(1)} GiB free in ${config.state_dir}${freeGib >= MIN_FREE_GIB ? '' : ` (less than ${MIN_FREE_GIB} GiB)`}` });
  return { checks, virtType: config.driver === 'fake' ? 'fake' : chosen.virt_type };
}
