import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './client.js';

/** A guest QEMU seen in /proc: its pid and the instance uuid from its `-name guest=<uuid>`. */
export interface GuestProcess {
  pid: number;
  instanceId: string | undefined;
}

/**
 * The QEMU processes whose command line contains `needle` (a state dir, an instance uuid).
 * Guest QEMUs daemonize (setsid, reparented to init), so they are found by their command line,
 * never as children of the agent.
 */
export function guestQemus(needle: string): GuestProcess[] {
  const found: GuestProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!/qemu-system/.test(args[0] ?? '') || !args.some((a) => a.includes(needle))) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const name = args[args.indexOf('-name') + 1] ?? '';
      found.push({ pid: Number(entry), instanceId: /^guest=([0-9a-f-]{36})/.exec(name)?.[1] });
    } catch {
      /* the process ended while we looked */
    }
  }
  return found;
}

/** The full argv of a process (Linux). */
export function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

/** SIGKILLs the QEMUs matching `needle` and waits until they are gone; answers how many there were. */
export async function killGuestQemus(needle: string, timeoutMs = 10_000): Promise<number> {
  const victims = guestQemus(needle);
  for (const { pid } of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (guestQemus(needle).length > 0 && Date.now() < deadline) await sleep(100);
  return victims.length;
}
