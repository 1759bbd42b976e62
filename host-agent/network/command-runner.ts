import { execFile } from 'node:child_process';

/**
 * How the data plane runs programs: never through a shell. Unit tests give the appliers a fake
 * one that records the commands and answers the reads.
 */
export interface CommandRunner {
  /** Runs `program args` (inside `netns` when given); resolves with stdout, rejects with a CommandError. */
  run(program: string, args: readonly string[], options?: RunOptions): Promise<string>;
}

export interface RunOptions {
  /** The network namespace to run in; absent = the agent's own. */
  netns?: string;
  stdin?: string;
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | string | null,
    readonly stderr: string,
  ) {
    super(`${command.join(' ')} failed (${exitCode ?? 'killed'}): ${stderr.trim() || 'no error output'}`);
    this.name = 'CommandError';
  }
}

/** `ip` and `bridge` take `-n` themselves; anything else runs under `ip netns exec`. */
export function commandLine(program: string, args: readonly string[], netns?: string): string[] {
  if (!netns) return [program, ...args];
  if (program === 'ip' || program === 'bridge') return [program, '-n', netns, ...args];
  return ['ip', 'netns', 'exec', netns, program, ...args];
}

export const execRunner: CommandRunner = {
  run(program, args, { netns, stdin, timeoutMs = 30_000 } = {}) {
    const [file, ...argv] = commandLine(program, args, netns);
    return new Promise((resolve, reject) => {
      const child = execFile(file, argv, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new CommandError([file, ...argv], code, String(stderr) || error.message));
        } else resolve(String(stdout));
      });
      // A program that exits without reading its input must not turn into an EPIPE error here.
      child.stdin?.on('error', () => {});
      child.stdin?.end(stdin ?? '');
    });
  },
};
