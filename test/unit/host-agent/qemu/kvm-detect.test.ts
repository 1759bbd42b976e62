import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedKvmVerdict, chooseVirtType, detectKvm, probeBios, type KvmProbes } from '../../../../host-agent/drivers/qemu/kvm-detect.js';
import { tempDir } from '../support.js';

const cpuinfo = (flags: string) => `processor\t: 0\nflags\t\t: fpu vme ${flags} sse2\n\nprocessor\t: 1\nflags\t\t: fpu vme ${flags} sse2\n`;

function probes(o: { flags: string; devKvm: boolean; boots?: boolean }): KvmProbes & { booted: number } {
  const p = {
    booted: 0,
    cpuinfo: async () => cpuinfo(o.flags),
    devKvmOpenable: async () => o.devKvm,
    bootProbe: async () => {
      p.booted++;
      return o.boots ? { usable: true, reason: 'probe ran' } : { usable: false, reason: 'a probe guest under -accel kvm did not finish within 5000 ms' };
    },
  };
  return p;
}

describe('KVM detection', () => {
  it('needs vmx or svm: a /dev/kvm without them (kvm_pvm) is not KVM, and is not even probed', async () => {
    const p = probes({ flags: 'pni', devKvm: true, boots: true });
    expect(await detectKvm(p)).toEqual({ usable: false, reason: expect.stringMatching(/neither vmx nor svm/) });
    expect(p.booted).toBe(0);
  });

  it('needs /dev/kvm to open', async () => {
    expect(await detectKvm(probes({ flags: 'vmx', devKvm: false, boots: true }))).toMatchObject({ usable: false, reason: expect.stringMatching(/\/dev\/kvm/) });
  });

  it('needs a guest to really run under KVM', async () => {
    expect(await detectKvm(probes({ flags: 'svm', devKvm: true, boots: false }))).toMatchObject({ usable: false, reason: expect.stringMatching(/did not finish/) });
    expect(await detectKvm(probes({ flags: 'vmx', devKvm: true, boots: true }))).toMatchObject({ usable: true });
  });

  it('uses the configured virt type over the detected one, and TCG when KVM does not work', () => {
    const broken = { usable: false, reason: 'no vmx' };
    const working = { usable: true, reason: 'ok' };
    expect(chooseVirtType(undefined, broken).virt_type).toBe('qemu');
    expect(chooseVirtType(undefined, working).virt_type).toBe('kvm');
    expect(chooseVirtType('qemu', working).virt_type).toBe('qemu');
    expect(chooseVirtType('kvm', broken)).toMatchObject({ virt_type: 'kvm', reason: expect.stringMatching(/although no vmx/) });
  });

  it('probes once per boot of the host: the verdict is cached with the boot id', async () => {
    const file = join(await tempDir('kvm-'), 'kvm-probe.json');
    let runs = 0;
    const detect = async () => ({ usable: false, reason: `run ${++runs}` });
    expect(await cachedKvmVerdict(file, detect)).toEqual({ usable: false, reason: 'run 1' });
    expect(await cachedKvmVerdict(file, detect)).toEqual({ usable: false, reason: 'run 1' });
    await writeFile(file, JSON.stringify({ boot_id: 'another boot', verdict: { usable: true, reason: 'old' } }));
    expect(await cachedKvmVerdict(file, detect)).toEqual({ usable: false, reason: 'run 2' });
  });

  it('has a probe guest that really runs and exits with its code (checked under TCG)', async () => {
    const bios = join(await tempDir('kvm-'), 'probe.rom');
    await writeFile(bios, probeBios());
    const result = spawnSync('qemu-system-x86_64', ['-accel', 'tcg', '-machine', 'pc', '-nodefaults', '-display', 'none', '-m', '16', '-bios', bios, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'], { timeout: 10_000 });
    expect(result.status).toBe((0x2a << 1) | 1);
  });
});
