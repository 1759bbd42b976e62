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

/** Every process's children, by parent pid, from /proc. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in /proc/<pid>/stat is in parentheses and may contain spaces: the ppid follows the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* the process ended while we looked */
    }
  }
  return children;
}

/** A process's command line, or undefined once it has ended. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** The direct children of a process whose command line contains `needle`. */
export function childProcesses(parentPid: number, needle: string): number[] {
  return (childrenByParent().get(parentPid) ?? []).filter((pid) => commandLine(pid)?.includes(needle)).sort((a, b) => a - b);
}

/** A process and all its descendants, with their RSS and command lines. */
export function processTree(root: number): { pid: number; rss_mb: number; command: string }[] {
  const children = childrenByParent();
  const out: { pid: number; rss_mb: number; command: string }[] = [];
  const visit = (pid: number) => {
    const command = commandLine(pid);
    if (command === undefined) return;
    try {
      out.push({ pid, rss_mb: processMemory(pid).rss_mb, command });
    } catch {
      return;
    }
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return out;
}

/** CPU time (user + system) a process has used so far, in ms (clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
