import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { queues } from '../../shared/aws.js';
import { consolePublicKey } from '../../shared/console/console-keys.js';
import { inventoryOf } from '../agent.js';
import { loadAgentConfig, type AgentConfig } from '../config.js';
import { createDriver } from '../drivers/index.js';
import { registerAndWaitForQueue } from '../registration.js';
import { Reporter, SqsReportSink, type ReportSink } from '../reports.js';
import { checkPrerequisites, type Check } from './prerequisites.js';
import { systemdUnit, UNIT_NAME } from './systemd-unit.js';

/** The files an install writes, under `root` (`/` on a real host, a temporary dir in tests). */
export function installPaths(root: string) {
  return {
    configFile: join(root, 'etc/novaless/host-agent.json'),
    environmentFile: join(root, 'etc/novaless/host-agent.env'),
    unitFile: join(root, 'etc/systemd/system', UNIT_NAME),
    stateDir: join(root, 'var/lib/novaless/host-agent'),
    consolePublicKeyFile: join(root, 'etc/novaless/console-verify.pem'),
    /** The agent artifact (`npm run build:agent`), copied whole: its code, proxy script and console files. */
    artifactDir: join(root, 'opt/novaless/host-agent'),
  };
}

/** The AWS SDK settings the agent's unit gets (credentials come from the host's own means: role, or added to the env file). */
const FORWARDED_ENV = ['AWS_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_S3', 'AWS_S3_FORCE_PATH_STYLE'];

export interface InstallOptions {
  root: string;
  /**
   * Config flags as `run` takes them (host, conductor-queue-url, image-bucket, ...), plus `config`
   * for a base file and `console-public-key`: the console verification key itself (SPKI PEM, the
   * stack's ConsolePublicKeyParameter), written to a file the config names.
   */
  flags: Record<string, string | undefined>;
  env: Record<string, string | undefined>;
  /** The agent artifact to install (the directory of host-agent.mjs: the running one, or one just built from a checkout). */
  artifactDir: string;
  /** Send the `register` report and wait for the host's queue (off for tests without a cloud). */
  register: boolean;
  log: Logger;
  say: (line: string) => void;
  registration?: { sqs?: SQSClient; sink?: ReportSink; timeoutMs?: number };
}

export interface InstallResult {
  ok: boolean;
  config?: AgentConfig;
  checks: Check[];
  files: string[];
  queueUrl?: string;
}

/**
 * `host-agent install`: checks the prerequisites, writes the agent's config and systemd unit,
 * and registers the host with the control plane (Nova's "start nova-compute, then discover
 * hosts", in one step).
 */
export async function install(o: InstallOptions): Promise<InstallResult> {
  const paths = installPaths(o.root);
  const { 'console-public-key': consoleKeyPem, ...flags } = o.flags;
  // Checked before anything is written: a private key, or no key at all, is refused here. A PEM
  // handed over in one line (an environment variable) has its newlines written as \n.
  const consoleKey = consoleKeyPem ? consolePublicKey(consoleKeyPem.replace(/\\n/g, '\n'), '--console-public-key') : undefined;
  if (consoleKey) flags['console-public-key-file'] = paths.consolePublicKeyFile;
  const config = await loadAgentConfig({ file: flags.config, flags: { 'state-dir': paths.stateDir, ...flags }, env: o.env });

  const { checks, virtType } = await checkPrerequisites(config);
  for (const check of checks) o.say(`${check.ok ? 'ok  ' : check.required ? 'FAIL' : 'warn'} ${check.name}: ${check.detail}`);
  if (checks.some((c) => c.required && !c.ok)) {
    o.say('install stopped: install the missing prerequisites (or use --driver fake)');
    return { ok: false, config, checks, files: [] };
  }
  if (config.driver === 'qemu' && !config.image_bucket) {
    o.say('install stopped: the qemu driver needs --image-bucket (the S3 bucket of the images)');
    return { ok: false, config, checks, files: [] };
  }

  await mkdir(dirname(paths.configFile), { recursive: true });
  await mkdir(dirname(paths.unitFile), { recursive: true });
  await mkdir(config.state_dir, { recursive: true, mode: 0o700 });
  await writeFile(paths.configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  if (consoleKey) await writeFile(paths.consolePublicKeyFile, consoleKey.export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
  const forwarded = FORWARDED_ENV.filter((name) => o.env[name]).map((name) => `${name}=${o.env[name]}`);
  await writeFile(paths.environmentFile, `# AWS SDK settings of the novaless host agent\n${forwarded.join('\n')}\n`, { mode: 0o600 });
  if (o.artifactDir !== paths.artifactDir) {
    await rm(paths.artifactDir, { recursive: true, force: true });
    await cp(o.artifactDir, paths.artifactDir, { recursive: true });
  }
  const agentBundle = join(paths.artifactDir, 'host-agent.mjs');
  await writeFile(paths.unitFile, systemdUnit({ execStart: [process.execPath, agentBundle], configFile: paths.configFile, environmentFile: paths.environmentFile }));
  const files = [agentBundle, paths.configFile, paths.environmentFile, paths.unitFile, ...(consoleKey ? [paths.consolePublicKeyFile] : [])];
  o.say(`wrote ${files.join(', ')} (driver ${config.driver}, virt type ${virtType})`);
  if (o.root === '/') o.say(`start it with: systemctl daemon-reload && systemctl enable --now ${paths.unitFile.split('/').pop()}`);

  if (!o.register) return { ok: true, config, checks, files };
  const driver = await createDriver(config, o.log);
  const inventory = inventoryOf(config, await driver.getInventory());
  const reporter = new Reporter(o.registration?.sink ?? new SqsReportSink(config.conductor_queue_url), config.host);
  const timeoutMs = o.registration?.timeoutMs ?? 60_000;
  const queueUrl = await registerAndWaitForQueue({ sqs: o.registration?.sqs ?? queues(), reporter, inventory, log: o.log, signal: AbortSignal.timeout(timeoutMs) });
  if (!queueUrl) {
    o.say(`registered host ${config.host}, but the control plane did not create its queue within ${timeoutMs / 1000} s: check the conductor`);
    return { ok: false, config, checks, files };
  }
  o.say(`registered host ${config.host} (${inventory.vcpus} vCPU, ${inventory.memory_mb} MB, ${inventory.disk_gb} GB, ${inventory.virt_type}); its queue is ${queueUrl}`);
  return { ok: true, config, checks, files, queueUrl };
}
