/**
 * `npm run tempest`: upstream tempest's compute API tests (`tempest.api.compute`) against a local
 * cloud, less the tests in exclude-list.txt. Fails when any test that runs fails.
 *
 *   npm run tempest [-- --cloud DIR] [--driver fake|qemu] [--regex R] [--concurrency N] [--name NAME] [--exclude-list FILE]
 *
 * Without --cloud it starts a fresh cloud of its own (fake driver unless --driver qemu, free
 * port) and stops it after. With the QEMU driver the guests run, so the VNC console tests run
 * too (tempest's HTTPS client is given the agents' self-signed console certificates to trust);
 * with --cloud it uses the running cloud whose state dir is DIR (`.novaless` for `npm start`).
 * Results: test/tempest/results/<name>.json (counts, failures, runtime); tempest's workspace,
 * log and config: test/tempest/results/<name>/.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../infra/local/emulators.js';
import { launchCloud, stopProcess, waitForCloudInfo } from '../../infra/local/launch.js';
import { readCloudInfo, type CloudInfo } from '../../infra/local/state-dir.js';
import { configureTempest } from './configure.js';
import { resultsDir, runTempest, summary } from './run-tempest.js';
import { requireNodeMajor } from '../../shared/node-version.js';

requireNodeMajor('npm run tempest');

const { values: args } = parseArgs({
  options: {
    cloud: { type: 'string' },
    regex: { type: 'string', default: '^tempest\\.api\\.compute\\.' },
    concurrency: { type: 'string', default: '2' },
    name: { type: 'string', default: 'full' },
    driver: { type: 'string', default: 'fake' },
    'exclude-list': { type: 'string' },
  },
});

const say = (line: string) => process.stdout.write(`tempest: ${line}\n`);

/** The agents' self-signed console certificates (tls.crt under the cloud's state dir), as one bundle file for tempest to trust. */
function consoleCertificates(stateDir: string, workspace: string): string {
  const certs = readdirSync(stateDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('tls.crt'));
  say(`console certificates: ${certs.join(', ') || 'none'}`);
  const bundle = join(workspace, 'console-certificates.pem');
  writeFileSync(bundle, certs.map((f) => readFileSync(join(stateDir, f), 'utf8')).join('\n'));
  return bundle;
}

async function main(): Promise<number> {
  const concurrency = Number(args.concurrency);
  let info: CloudInfo;
  let stop = async () => {};
  let stateDir: string;
  const driver = args.driver === 'qemu' ? 'qemu' : 'fake';
  if (args.cloud) {
    stateDir = resolve(args.cloud);
    info = readCloudInfo(stateDir);
    say(`using the running cloud at ${info.apiUrl}`);
  } else {
    const workDir = mkdtempSync(join(tmpdir(), 'novaless-tempest-'));
    stateDir = join(workDir, 'state');
    const logFile = join(workDir, 'start.log');
    const child = launchCloud({ stateDir, logFile, args: ['--fresh', '--port', String(await freePort()), '--driver', driver], env: { LOG_LEVEL: 'WARN', ALLOW_RESIZE_TO_SAME_HOST: 'true' } });
    stop = async () => {
      await stopProcess(child, 40_000);
      rmSync(workDir, { recursive: true, force: true });
    };
    info = await waitForCloudInfo(child, { stateDir, logFile }, Date.now() + 120_000).catch(async (err) => {
      await stop();
      throw err;
    });
    say(`started a fresh local cloud (${driver} driver) at ${info.apiUrl}; its log: ${logFile}`);
  }
  try {
    const workspace = join(resultsDir, args.name!);
    await configureTempest(info, workspace, { concurrency, prefix: `tempest-${args.name}-`, vncConsole: driver === 'qemu' });
    say(`workspace ${workspace}; running ${args.regex} at concurrency ${concurrency}`);
    const trustedCertificates = driver === 'qemu' ? consoleCertificates(stateDir, workspace) : undefined;
    if (trustedCertificates) say(`tempest trusts the agents' console certificates in ${trustedCertificates} (in a mount namespace of its own)`);
    const result = await runTempest({ name: args.name!, workspace, regex: args.regex!, concurrency, trustedCertificates, excludeList: args['exclude-list'], echo: (c) => process.stdout.write(c) });
    say(summary(result));
    say(`results: ${join(resultsDir, `${args.name}.json`)}`);
    if (result.passed === 0 && result.exitCode !== 0) return result.exitCode; // tempest did not run at all
    return result.failed > 0 ? 1 : 0;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tempest: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
