import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Nova's [libvirt] virt_type: kvm (hardware virtualisation) or qemu (TCG, pure emulation). */
export type VirtType = 'kvm' | 'qemu';

export interface KvmVerdict {
  usable: boolean;
  /** Why KVM is or is not usable, in words for `host-agent status` and the logs. */
  reason: string;
}

/** The checks, injectable so the decision logic is tested without a machine that has KVM. */
export interface KvmProbes {
  /** The text of /proc/cpuinfo. */
  cpuinfo(): Promise<string>;
  /** Whether /dev/kvm exists and this process may open it read-write. */
  devKvmOpenable(): Promise<boolean>;
  /** Boots a tiny guest under -accel kvm; ok only if it reached its known end point in time. */
  bootProbe(): Promise<KvmVerdict>;
}

/**
 * Whether KVM really works here. Three checks, all required, because a /dev/kvm that answers
 * the KVM API is not enough: the kvm_pvm module provides one on machines without vmx/svm, where
 * a real guest under `-accel kvm` hangs or aborts and `-accel kvm:tcg` does not fall back
 * (KVM "starts"). So: the CPU must advertise vmx or svm, /dev/kvm must open, and a tiny guest
 * must boot under KVM and reach its exit point within a few seconds.
 */
export async function detectKvm(probes: KvmProbes): Promise<KvmVerdict> {
  const flags = cpuFlagsOf(await probes.cpuinfo());
  if (!flags.has('vmx') && !flags.has('svm')) return { usable: false, reason: 'the CPU advertises neither vmx nor svm in /proc/cpuinfo' };
  if (!(await probes.devKvmOpenable())) return { usable: false, reason: '/dev/kvm is missing or cannot be opened read-write' };
  const probe = await probes.bootProbe();
  return probe.usable ? { usable: true, reason: `vmx/svm present, /dev/kvm opens, ${probe.reason}` } : probe;
}

/** The virt type to use: the configured one, else kvm when it really works, else qemu (TCG). */
export function chooseVirtType(configured: VirtType | undefined, kvm: KvmVerdict): { virt_type: VirtType; reason: string } {
  if (configured === 'qemu') return { virt_type: 'qemu', reason: 'virt_type qemu set in the agent config' };
  if (configured === 'kvm') {
    // An operator who insists gets KVM, with the doubt in the log.
    return { virt_type: 'kvm', reason: kvm.usable ? 'virt_type kvm set in the agent config' : `virt_type kvm set in the agent config although ${kvm.reason}` };
  }
  return kvm.usable ? { virt_type: 'kvm', reason: kvm.reason } : { virt_type: 'qemu', reason: `TCG: ${kvm.reason}` };
}

export function cpuFlagsOf(cpuinfo: string): Set<string> {
  const flags = new Set<string>();
  for (const line of cpuinfo.split('\n')) {
    const match = /^flags\s*:\s*(.*)$/.exec(line);
    if (match) for (const flag of match[1].split(/\s+/)) if (flag) flags.add(flag);
  }
  return flags;
}

/** The probes against this machine. */
export function hostKvmProbes(qemuBinary = 'qemu-system-x86_64', timeoutMs = 5000): KvmProbes {
  return {
    cpuinfo: () => readFile('/proc/cpuinfo', 'utf8').catch(() => ''),
    async devKvmOpenable() {
      try {
        const handle = await open('/dev/kvm', 'r+');
        await handle.close();
        return true;
      } catch {
        return false;
      }
    },
    bootProbe: () => bootProbe(qemuBinary, timeoutMs),
  };
}

/** The probe guest's exit code: isa-debug-exit turns the byte written to port 0xf4 into (b << 1) | 1. */
const PROBE_EXIT_CODE = (0x2a << 1) | 1;

/**
 * A 64 KiB BIOS whose reset vector writes 0x2a to the isa-debug-exit port: a guest that
 * executes its first instructions under KVM makes QEMU exit with code 85. A hang (timeout)
 * or an abort (any other exit) means KVM does not really run guests here.
 */
export function probeBios(): Buffer {
  const rom = Buffer.alloc(0x10000, 0xf4); // hlt everywhere
  // at the reset vector (0xffff0): mov al, 0x2a; out 0xf4, al; hlt; jmp $-1
  Buffer.from([0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(rom, 0xfff0);
  return rom;
}

async function bootProbe(qemuBinary: string, timeoutMs: number): Promise<KvmVerdict> {
  const dir = await mkdtemp(join(tmpdir(), 'novaless-kvm-probe-'));
  try {
    const bios = join(dir, 'probe.rom');
    await writeFile(bios, probeBios());
    const started = Date.now();
    const result = await new Promise<{ code: number | null; signal: string | null; stderr: string; timedOut: boolean }>((resolve) => {
      const child = execFile(
        qemuBinary,
        ['-accel', 'kvm', '-machine', 'pc', '-nodefaults', '-display', 'none', '-m', '16', '-bios', bios, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
        { timeout: timeoutMs, killSignal: 'SIGKILL' },
        (error, _stdout, stderr) => {
          const timedOut = Boolean(error && (error as { killed?: boolean }).killed);
          resolve({ code: child.exitCode, signal: child.signalCode, stderr: String(stderr), timedOut });
        },
      );
    });
    if (result.timedOut) return { usable: false, reason: `a probe guest under -accel kvm did not finish within ${timeoutMs} ms` };
    if (result.code !== PROBE_EXIT_CODE) {
      const detail = result.stderr.trim().split('\n').slice(-1)[0] ?? '';
      return { usable: false, reason: `a probe guest under -accel kvm ended with ${result.signal ?? `code ${result.code}`}${detail ? `: ${detail}` : ''}` };
    }
    return { usable: true, reason: `a probe guest ran under -accel kvm in ${Date.now() - started} ms` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Caches the verdict in a file for this boot of the host (the boot id changes when the
 * machine restarts, and modules or firmware settings may change with it): the probe costs a
 * QEMU start, once per boot rather than at every agent start.
 */
export async function cachedKvmVerdict(cacheFile: string, detect: () => Promise<KvmVerdict>): Promise<KvmVerdict> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { boot_id?: string; verdict?: KvmVerdict };
    if (bootId && cached.boot_id === bootId && cached.verdict && typeof cached.verdict.usable === 'boolean') return cached.verdict;
  } catch {
    // no cache yet, or an unreadable one: probe again
  }
  const verdict = await detect();
  if (bootId) await writeFile(cacheFile, `${JSON.stringify({ boot_id: bootId, verdict, at: new Date().toISOString() })}\n`).catch(() => undefined);
  return verdict;
}
