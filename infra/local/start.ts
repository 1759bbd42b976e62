/**
 * `npm start`: the whole control plane on this machine. The real Lambda handlers run in this
 * process behind local stand-ins for CloudFront (infra/local/edge-server.ts, which runs the
 * stack's edge function) and API Gateway (infra/local/api-server.ts), SQS event source
 * stand-ins (infra/local/queue-poller.ts), against AWS emulators (or LocalStack when
 * AWS_ENDPOINT_URL is set), with N host agents as child processes: the QEMU driver where QEMU
 * is installed, the fake one otherwise or when asked. As root, each host gets a network
 * namespace on a simulated data-centre network, with an external segment and an "outside world"
 * namespace for floating IPs (infra/local/network-topology.ts).
 *
 * Each agent serves its guests' consoles (noVNC, serial) on its own port of 127.0.0.1: from
 * --console-port P on (host-1 on P, host-2 on P+1, ...), or free ports when not given.
 *
 *   npm start [-- --fresh] [--hosts N] [--port P] [--host-vcpus N --host-memory-mb N --host-disk-gb N] [--driver fake|qemu] [--cpu-allocation-ratio R] [--console-port P]
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { conductorQueue, edge, localImageBucket, schedulerQueue, sweeper, tableDefinition } from '../../shared/resources.js';
import { qemuInstalled } from '../../host-agent/config.js';
import { startAgent, stopAgent } from './agents.js';
import { addHost, canMakeNamespaces, createTopology, removeTopology, topologyFor, type Topology } from './network-topology.js';
import { closeServer } from './close-server.js';
import { freePort, startEmulators, type Emulators } from './emulators.js';
import { adminPassword, cloudInfoPath, openrc, stateDir, type CloudInfo } from './state-dir.js';
import { requireNodeMajor } from '../../shared/node-version.js';

requireNodeMajor('npm start');

const { values: args } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    hosts: { type: 'string', default: '1' },
    port: { type: 'string', default: process.env.NOVALESS_PORT ?? '8774' },
    'host-vcpus': { type: 'string' },
    'host-memory-mb': { type: 'string' },
    'host-disk-gb': { type: 'string' },
    'spawn-delay-ms': { type: 'string' },
    'cpu-allocation-ratio': { type: 'string' },
    driver: { type: 'string' },
    'console-port': { type: 'string' },
  },
});

const say = (line: string) => process.stdout.write(`novaless: ${line}\n`);

/**
 * What has been started so far, undone in reverse order on Ctrl-C, SIGTERM or a failed start,
 * so that a signal during start-up leaves no emulator or agent behind either.
 */
const started: { what: string; stop: () => Promise<void> | void }[] = [];
let stopping = false;

async function track(what: string, stop: () => Promise<void> | void): Promise<void> {
  if (stopping) return stop(); // started while everything else is being stopped
  started.push({ what, stop });
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const steps = started.reverse();
  say(`stopping: ${steps.map((s) => s.what).join(', ') || 'nothing was started yet'}`);
  for (const step of steps) {
    const begun = Date.now();
    try {
      await step.stop();
      say(`stopped ${step.what} (${((Date.now() - begun) / 1000).toFixed(1)} s)`);
    } catch (err) {
      say(`could not stop ${step.what}: ${(err as Error).message}`);
    }
  }
  say('stopped.');
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function main(): Promise<void> {
  const dir = stateDir();
  const driver = args.driver === 'fake' || args.driver === 'qemu' ? args.driver : qemuInstalled() ? 'qemu' : 'fake';
  if (args.driver && args.driver !== driver) throw new Error(`--driver must be fake or qemu, not ${args.driver}`);
  const topology = await startNetworking(dir, driver);
  if (args.fresh) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = Number(args.port);
  const apiUrl = `http://127.0.0.1:${port}`;
  say(`client settings: ${join(dir, 'openrc')}  (run: source ${join(dir, 'openrc')}; openstack server list)`);
  say(`state: ${dir}${args.fresh ? ' (fresh)' : ''}; logs of host agents: ${join(dir, 'logs')}`);

  // Credentials and region for the emulators; LocalStack accepts any too.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  process.env.AWS_S3_FORCE_PATH_STYLE = 'true';
  let emulators: Emulators | undefined;
  if (process.env.AWS_ENDPOINT_URL) {
    say(`using the AWS endpoint ${process.env.AWS_ENDPOINT_URL} (LocalStack)`);
  } else {
    const running = await startEmulators(dir);
    emulators = running;
    await track('emulators', () => running.stop());
    process.env.AWS_ENDPOINT_URL_DYNAMODB = emulators.endpoints.dynamodb;
    process.env.AWS_ENDPOINT_URL_SQS = emulators.endpoints.sqs;
    process.env.AWS_ENDPOINT_URL_S3 = emulators.endpoints.s3;
    say(`emulators up: DynamoDB ${emulators.endpoints.dynamodb}, SQS ${emulators.endpoints.sqs}, S3 ${emulators.endpoints.s3}`);
  }

  // Imported only now: the handlers' SDK clients read the endpoints above when first used.
  const { provisionLocalResources } = await import('./provision.js');
  const resources = await provisionLocalResources();
  const tokenKeyFile = join(dir, 'token-signing.key');
  // The console token pair: the API signs with the private key, the agents get the public one.
  const consoleKeyFile = join(dir, 'console-signing.key');
  const consolePublicKeyFile = join(dir, 'console-verify.pem');
  Object.assign(process.env, {
    TABLE_NAME: tableDefinition.name,
    SCHEDULER_QUEUE_URL: resources.schedulerQueueUrl,
    CONDUCTOR_QUEUE_URL: resources.conductorQueueUrl,
    IMAGE_BUCKET: localImageBucket,
    TOKEN_KEY_FILE: tokenKeyFile,
    CONSOLE_KEY_FILE: consoleKeyFile,
    PUBLIC_ENDPOINT: apiUrl,
  });
  const { createTokenKeyFile } = await import('../../functions/api/identity/token-key.js');
  await createTokenKeyFile(tokenKeyFile);
  const { createConsoleKeyFiles } = await import('../../shared/console/console-keys.js');
  await createConsoleKeyFiles(consoleKeyFile, consolePublicKeyFile);
  const password = adminPassword(dir);
  const { bootstrapCloud } = await import('../../functions/bootstrap/bootstrap-cloud.js');
  await bootstrapCloud({ adminPassword: password });

  const { handler: api } = await import('../../functions/api/handler.js');
  const { handler: scheduler } = await import('../../functions/scheduler/handler.js');
  const { handler: conductor } = await import('../../functions/conductor/handler.js');
  const { handler: sweep } = await import('../../functions/sweeper/handler.js');
  const { startEdgeServer } = await import('./edge-server.js');
  const { QueuePoller } = await import('./queue-poller.js');

  const tokenKey = readFileSync(tokenKeyFile, 'utf8').trim();
  const server = await startEdgeServer({
    api: api as never,
    bucket: localImageBucket,
    keyValues: (key) => {
      if (key !== edge.tokenKeyName) throw new Error(`KeyNotFound: ${key}`);
      return tokenKey;
    },
    port,
  });
  await track('API', () => closeServer(server));
  // The stack's image bucket notifies the image data function of uploads; s3rver's events stand in for it.
  const { handleImageDataArrival } = await import('../../functions/api/image/image-data-arrival.js');
  emulators?.onS3Event((event) => void handleImageDataArrival(event).catch((err) => say(`image data arrival failed: ${(err as Error).message}`)));
  const pollers = [
    new QueuePoller('scheduler', resources.schedulerQueueUrl, scheduler, schedulerQueue.batchSize),
    new QueuePoller('conductor', resources.conductorQueueUrl, conductor, conductorQueue.batchSize),
  ];
  await Promise.all(pollers.map((p) => p.start()));
  await track('queue pollers', () => Promise.all(pollers.map((p) => p.stop())).then(() => undefined));
  const sweepTimer = setInterval(() => void sweep().catch((err) => say(`sweeper failed: ${(err as Error).message}`)), sweeper.intervalSeconds * 1000);
  await track('sweeper', () => clearInterval(sweepTimer));

  const info: CloudInfo = {
    pid: process.pid,
    apiUrl,
    authUrl: `${apiUrl}/identity/v3`,
    endpoints: emulators?.endpoints ?? { all: process.env.AWS_ENDPOINT_URL },
    tableName: tableDefinition.name,
    schedulerQueueUrl: resources.schedulerQueueUrl,
    conductorQueueUrl: resources.conductorQueueUrl,
    imageBucket: localImageBucket,
    tokenKeyFile,
    consoleKeyFile,
    consolePublicKeyFile,
    adminPassword: password,
    ...(topology ? { externalNetns: topology.externalNetns } : {}),
  };
  writeFileSync(join(dir, 'openrc'), openrc(info), { mode: 0o600 });
  // Written whole, then renamed: whoever waits for this file (tests, benchmarks) never reads half of it.
  writeFileSync(`${cloudInfoPath(dir)}.tmp`, JSON.stringify(info, null, 2), { mode: 0o600 });
  renameSync(`${cloudInfoPath(dir)}.tmp`, cloudInfoPath(dir));
  await track('cloud.json', () => rmSync(cloudInfoPath(dir), { force: true }));

  const agentEnv: Record<string, string> = {
    AWS_REGION: process.env.AWS_REGION!,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY!,
    AWS_S3_FORCE_PATH_STYLE: 'true',
    ...(emulators ? { AWS_ENDPOINT_URL_SQS: emulators.endpoints.sqs, AWS_ENDPOINT_URL_S3: emulators.endpoints.s3 } : { AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL! }),
  };
  const inventoryArgs = (['host-vcpus', 'host-memory-mb', 'host-disk-gb', 'spawn-delay-ms', 'cpu-allocation-ratio'] as const).flatMap((k) =>
    args[k] ? [`--${k.replace(/^host-/, '')}`, args[k]!] : [],
  );
  // Agents publish console logs to the image bucket (and the qemu driver reads images there).
  inventoryArgs.push('--image-bucket', localImageBucket);
  const { buildAgent } = await import('../../host-agent/build/build-agent.js');
  say(`built the host agent artifact ${await buildAgent()}`);
  const agents: ChildProcess[] = [];
  await track('host agents', () => Promise.all(agents.map((a) => stopAgent(a))).then(() => undefined));
  for (let n = 1; n <= Number(args.hosts) && !stopping; n++) {
    const host = `host-${n}`;
    const networkArgs = topology && driver === 'qemu' ? hostNetworkArgs(await addHost(topology, host, n)) : [];
    const consolePort = args['console-port'] ? Number(args['console-port']) + n - 1 : await freePort();
    const consoleArgs = ['--console-public-key-file', consolePublicKeyFile, '--console-listen-address', '127.0.0.1', '--console-port', String(consolePort), '--console-url', `https://127.0.0.1:${consolePort}`];
    agents.push(startAgent({ host, stateDir: join(dir, 'agents', host), logDir: join(dir, 'logs'), conductorQueueUrl: resources.conductorQueueUrl, env: agentEnv, extraArgs: [...inventoryArgs, ...networkArgs, ...consoleArgs], driver }));
  }
  say(`API on ${apiUrl} (identity ${info.authUrl}); ${agents.length} host agent(s) starting (${driver} driver${driver === 'fake' ? ': bookkeeping guests, no QEMU' : ''})`);
  if (topology) say(`outside world: ip netns exec ${topology.externalNetns} <command>  (NOVALESS_EXTERNAL_NETNS in the openrc), e.g. ssh cirros@<floating ip>`);
  say('ready. Ctrl-C stops everything.');
}

/**
 * As root, the simulated data-centre and external networks (removed again on stop; a restart
 * puts them back); otherwise guests start without networking, and the first lines say why.
 */
async function startNetworking(dir: string, driver: 'qemu' | 'fake'): Promise<Topology | undefined> {
  const possible = await canMakeNamespaces();
  if (!possible.ok) {
    say(`guests start without networking: ${possible.why}`);
    return undefined;
  }
  const topology = topologyFor(dir);
  await track('network namespaces', () => removeTopology(topology));
  await createTopology(topology);
  say(`networks: namespaces ${topology.prefix}-* (data-centre switch, external segment, outside world${driver === 'qemu' ? ', one per host' : ''})`);
  return topology;
}

const hostNetworkArgs = (h: { netns: string; tunnelIp: string; underlayDev: string; externalBridge: string }) => [
  '--netns', h.netns, '--tunnel-ip', h.tunnelIp, '--underlay-dev', h.underlayDev, '--external-bridge', h.externalBridge,
];

main().catch((err) => {
  process.stderr.write(`novaless: failed to start: ${(err as Error).stack ?? err}\n`);
  void stopAll(1);
});
