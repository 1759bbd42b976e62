import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory of one process, from /proc/<pid>/status (Linux only). */
export interface ProcessMemory {
  pid: number;
  rss_mb: number;
  /** The peak resident set since the process started. */
  peak_rss_mb: number;
}

const statusField = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { pid, rss_mb: mb(statusField(status, 'VmRSS')), peak_rss_mb: mb(statusField(status, 'VmHWM')) };
}

/** The direct children of a process whose command line contains `needle`. */
export function childProcesses(parentPid: number, needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in /proc/<pid>/stat is in parentheses and may contain spaces: the ppid follows the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parentPid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      /* the process ended while we looked */
    }
  }
  return found.sort((a, b) => a - b);
}

/** CPU time (user + system) a process has used so far, in ms (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
