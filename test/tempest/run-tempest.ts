/**
 * Runs upstream tempest (Debian's `tempest`, at /usr/bin/tempest) in a workspace made by
 * configure.ts and reads back what happened: counts, the failing tests, and the runtime, written
 * as JSON under test/tempest/results/ (gitignored).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const tempestDir = dirname(fileURLToPath(import.meta.url));
export const resultsDir = join(tempestDir, 'results');
/** The tests not run, each with the missing feature or the bug that makes it fail (comments in the file). */
export const excludeListFile = join(tempestDir, 'exclude-list.txt');

export interface TempestResult {
  name: string;
  regex: string;
  concurrency: number;
  startedAt: string;
  seconds: number;
  exitCode: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Ids of the tests that failed (and of setUpClass/tearDownClass fixtures that failed). */
  failures: string[];
  /** Where tempest's own log and output are. */
  workspace: string;
}

export interface RunOptions {
  /** A name for the results file: results/<name>.json. */
  name: string;
  workspace: string;
  /** Tests to run, as tempest's `--regex`. */
  regex: string;
  concurrency: number;
  /** Where tempest's console output goes as it runs (besides <workspace>/tempest-run.log). */
  echo?: (chunk: string) => void;
  /**
   * PEM certificates tempest must trust beside the system's (the agents' self-signed console
   * certificates). Debian's urllib3 reads only /etc/ssl/certs/ca-certificates.crt, whatever
   * SSL_CERT_FILE says, so tempest runs in a mount namespace of its own where that file is the
   * system bundle plus these: the machine's trust store is never changed.
   */
  trustedCertificates?: string;
  /** The exclude list (exclude-list.txt unless given: `/dev/null` runs the excluded tests too). */
  excludeList?: string;
}

const systemBundle = '/etc/ssl/certs/ca-certificates.crt';

/** The command that runs tempest: directly, or in a private mount namespace that trusts `o.trustedCertificates` too. */
function tempestCommand(o: RunOptions, args: string[]): [string, string[]] {
  if (!o.trustedCertificates) return ['tempest', args];
  const bundle = join(o.workspace, 'trusted-ca-bundle.pem');
  writeFileSync(bundle, readFileSync(systemBundle, 'utf8') + '\n' + readFileSync(o.trustedCertificates, 'utf8'));
  const script = 'mount --bind "$0" ' + systemBundle + ' && exec tempest "$@"';
  return ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, bundle, ...args]];
}

/** `tempest run` in the workspace, then the results from stestr's last run. */
export async function runTempest(o: RunOptions): Promise<TempestResult> {
  const started = Date.now();
  const args = ['run', '--concurrency', String(o.concurrency), '--regex', o.regex, '--exclude-list', o.excludeList ?? excludeListFile];
  const output: string[] = [];
  const exitCode = await new Promise<number>((res, rej) => {
    const [command, commandArgs] = tempestCommand(o, args);
    const child = spawn(command, commandArgs, { cwd: o.workspace, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (chunk: Buffer) => {
      output.push(chunk.toString());
      o.echo?.(chunk.toString());
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', rej);
    child.on('exit', (code, signal) => res(code ?? (signal ? 128 : 1)));
  });
  writeFileSync(join(o.workspace, 'tempest-run.log'), output.join(''));
  const seconds = Math.round((Date.now() - started) / 1000);

  // One row per test: test,status,start_time,stop_time (status: success, failure, skip, xfail,
  // uxsuccess); a test id with tags (`test_x[id-...,smoke]`) is quoted.
  const csv = await exec('sh', ['-c', 'stestr last --subunit | subunit2csv || true'] /* subunit2csv exits 1 when a test failed */, { cwd: o.workspace, maxBuffer: 64 * 1024 * 1024 })
    .then((r) => r.stdout)
    .catch(() => '');
  const rows = csv
    .split('\n')
    .slice(1)
    .map((line) => /^(?:"([^"]*)"|([^,]*)),([a-z]+),/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ test: (m[1] ?? m[2]).replace(/\[.*\]$/, ''), status: m[3] }));
  const failedStatuses = ['failure', 'fail', 'error', 'uxsuccess'];
  const count = (...statuses: string[]) => rows.filter((r) => statuses.includes(r.status)).length;
  const result: TempestResult = {
    name: o.name,
    regex: o.regex,
    concurrency: o.concurrency,
    startedAt: new Date(started).toISOString(),
    seconds,
    exitCode,
    passed: count('success', 'xfail'),
    failed: count(...failedStatuses),
    skipped: count('skip'),
    failures: rows.filter((r) => failedStatuses.includes(r.status)).map((r) => r.test).sort(),
    workspace: resolve(o.workspace),
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${o.name}.json`), JSON.stringify(result, null, 2) + '\n');
  return result;
}

export const summary = (r: TempestResult) =>
  `tempest ${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${r.seconds} s (concurrency ${r.concurrency})` +
  (r.failures.length ? `\nfailed:\n${r.failures.map((f) => `  ${f}`).join('\n')}` : '');
