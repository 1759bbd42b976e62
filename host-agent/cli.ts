#!/usr/bin/env tsx
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agentLogger as logger, runAgent } from './agent.js';
import { runsAsArtifact } from './agent-files.js';
import { AgentConfigError, CONFIG_OVERRIDES, envVarOf, loadAgentConfig } from './config.js';
import { requireNodeMajor } from '../shared/node-version.js';

requireNodeMajor('the host agent');

const USAGE = `usage: host-agent <command> [options]

commands:
  run        run the agent: register this host, then run the guests the control plane sends
  install    prepare a metal host: check the prerequisites, write the config and the systemd
             unit, register the host (--root DIR installs under DIR; --no-register skips it)
  status     show the host's health and its guests (--json for JSON)

options of install only:
  --console-public-key PEM        the console token verification key (SPKI PEM; the stack's
                                  ConsolePublicKeyParameter), written to
                                  /etc/novaless/console-verify.pem and named in the config

options of run, install and status (each overrides the config file; HOST_AGENT_<NAME> variables work too):
  --config FILE                   JSON config file
${CONFIG_OVERRIDES.map((o) => `  --${o.flag} ${o.kind === 'number' ? 'N' : 'VALUE'}`.padEnd(34) + `(${envVarOf(o.flag)})`).join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        root: { type: 'string' },
        'no-register': { type: 'boolean' },
        'console-public-key': { type: 'string' },
        json: { type: 'boolean' },
        ...Object.fromEntries(CONFIG_OVERRIDES.map((o) => [o.flag, { type: 'string' as const }])),
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }

  switch (command) {
    case 'run':
      return run(values as Record<string, string | undefined>);
    case 'install':
      return installCommand(values as Record<string, string | undefined>, { root: values.root ?? '/', register: !values['no-register'] });
    case 'status':
      return statusCommand(values as Record<string, string | undefined>, Boolean(values.json));
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

async function installCommand(flags: Record<string, string | undefined>, o: { root: string; register: boolean }): Promise<number> {
  const { install } = await import('./install/install.js');
  try {
    const say = (line: string) => process.stdout.write(`${line}\n`);
    const result = await install({ root: o.root, flags, env: process.env, artifactDir: await agentArtifactDir(say), register: o.register, log: logger, say });
    return result.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof AgentConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

async function statusCommand(flags: Record<string, string | undefined>, json: boolean): Promise<number> {
  const { formatStatus, hostStatus } = await import('./install/status.js');
  let config;
  try {
    config = await loadAgentConfig({ file: flags.config ?? defaultConfigFile(), flags, env: process.env });
  } catch (error) {
    if (error instanceof AgentConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const status = await hostStatus(config, logger);
  process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return status.checks.some((c) => c.required && !c.ok) ? 1 : 0;
}

/** The artifact `install` copies: this one when the agent runs as the artifact; from a checkout, one built now. */
async function agentArtifactDir(say: (line: string) => void): Promise<string> {
  if (runsAsArtifact) return dirname(fileURLToPath(import.meta.url));
  say('running from a checkout: building the agent artifact (npm run build:agent) to install it');
  const { buildAgent } = await import('./build/build-agent.js');
  return dirname(await buildAgent());
}

/** The file `install` writes, when it exists. */
function defaultConfigFile(): string | undefined {
  return existsSync('/etc/novaless/host-agent.json') ? '/etc/novaless/host-agent.json' : undefined;
}

async function run(flags: Record<string, string | undefined>): Promise<number> {
  let config;
  try {
    config = await loadAgentConfig({ file: flags.config, flags, env: process.env });
  } catch (error) {
    if (error instanceof AgentConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const stopping = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) {
      logger.warn('second signal, stopping at once', { signal });
      process.exit(1);
    }
    logger.info('stopping the host agent (a second signal stops it at once)', { signal });
    stopping.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await runAgent(config, stopping.signal);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    logger.critical('host agent failed', { error: error as Error });
    process.exit(1);
  },
);
