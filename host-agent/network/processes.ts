import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The pid in a pid file, if the file holds one. */
export async function readPidFile(pidFile: string): Promise<number | undefined> {
  const pid = Number.parseInt((await readFile(pidFile, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** A live process's arguments (argv[0] excluded); undefined once it is gone or a zombie. */
export async function argsOf(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return undefined;
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(1, -1);
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it is gone. */
export async function stopProcess(pid: number, graceMs = 3_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((await argsOf(pid)) !== undefined) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      await sleep(50);
      if ((await argsOf(pid)) === undefined) return;
    }
    await sleep(20);
  }
}
