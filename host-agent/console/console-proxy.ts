import type { Logger } from '@aws-lambda-powertools/logger';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { consolePublicKey } from '../../shared/console/console-keys.js';
import type { AgentConfig } from '../config.js';
import type { ComputeDriver } from '../drivers/driver.js';
import { instancePaths } from '../drivers/qemu/instance-dir.js';
import { QemuDriver } from '../drivers/qemu/qemu-driver.js';
import type { LocalState } from '../local-state.js';
import type { Reporter } from '../reports.js';
import { startConsoleServer, type ConsoleServer } from './console-server.js';
import { consoleSessionReporter } from './session-reports.js';
import { consoleTlsFiles } from './tls-certificate.js';
import { UsedTokens } from './used-tokens.js';

/**
 * Starts the console proxy when this host can serve consoles: a console public key is configured
 * and the driver is QEMU (the fake driver's guests have no screen). Returns it with the address
 * to register (`console.url`, or https://<host_ip>:<port>), or undefined: then the host
 * registers no console address and the API answers Nova's 400 for an unavailable console type.
 */
export async function startConsoleProxy(
  config: AgentConfig,
  driver: ComputeDriver,
  state: LocalState,
  reporter: Reporter,
  log: Logger,
): Promise<{ server: ConsoleServer; url: string } | undefined> {
  const c = config.console;
  if (!c.public_key_file) {
    log.info('no console.public_key_file configured: this host offers no consoles');
    return undefined;
  }
  if (!(driver instanceof QemuDriver)) {
    log.info(`the ${driver.name} driver has no guest consoles: this host offers none`);
    return undefined;
  }
  const instancesDir = driver.instancesDir;
  const publicKey = consolePublicKey(await readFile(c.public_key_file, 'utf8'), c.public_key_file);
  const dir = join(config.state_dir, 'console');
  const configuredUrl = c.url ? new URL(c.url) : undefined;
  const tls = await consoleTlsFiles({ certFile: c.cert_file, keyFile: c.key_file, dir, hostName: configuredUrl?.hostname ?? config.host_ip });
  const used = await UsedTokens.open(join(dir, 'used-tokens.json'));
  const url = (configuredUrl ?? new URL(`https://${config.host_ip}:${c.port}`)).toString();
  const server = await startConsoleServer({
    host: config.host,
    publicUrl: url,
    listenAddress: c.listen_address,
    port: c.port,
    tls,
    publicKey,
    used,
    socketOf: (id, protocol) => {
      if (!state.guest(id)) return undefined;
      const paths = instancePaths(instancesDir, id);
      return protocol === 'vnc' ? paths.vnc : paths.serial;
    },
    log,
    onSession: consoleSessionReporter(reporter, log),
  });
  return { server, url };
}
