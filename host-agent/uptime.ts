import { execFile } from 'node:child_process';
import { loadavg, uptime as secondsUp } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The host's uptime line, as Nova's libvirt driver reports it for os-hypervisors: the output of
 * `env LANG=C uptime`. Where the command is missing, the same line is built from the kernel's
 * figures (without the user count, which only utmp knows).
 */
export async function hostUptime(now = new Date()): Promise<string> {
  try {
    const { stdout } = await run('uptime', [], { env: { ...process.env, LANG: 'C' }, timeout: 2_000 });
    const line = stdout.trim();
    if (line) return ` ${line}`.slice(0, 255);
  } catch {
    // fall through to the kernel's figures
  }
  return formatUptime(now, secondsUp(), loadavg());
}

/** ` HH:MM:SS up [N days, ]H:MM,  load average: a, b, c`, as procps prints it. */
export function formatUptime(now: Date, seconds: number, load: number[]): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  const since = `${days > 0 ? `${days} day${days === 1 ? '' : 's'}, ` : ''}${hours > 0 ? `${String(hours).padStart(2)}:${pad(minutes)}` : `${minutes} min`}`;
  return ` ${clock} up ${since},  load average: ${load.map((l) => l.toFixed(2)).join(', ')}`;
}
