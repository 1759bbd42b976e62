import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { agentFiles } from '../agent-files.js';
import type { Changes, HostContext } from '../network/host-context.js';
import { argsOf, readPidFile, stopProcess } from '../network/processes.js';

/**
 * The metadata proxy of one DHCP namespace, as the data plane runs it (Neutron runs haproxy
 * there): metadata-proxy.mjs, started with the agent's own node inside the namespace, listening
 * on 169.254.169.254:80 and forwarding to the agent's metadata server (metadata-server.ts).
 * Like dnsmasq: a pid file, kept when running with the same arguments, (re)started otherwise.
 */

export const METADATA_ADDRESS = '169.254.169.254';
/** What the DHCP port's veth carries besides its own addresses. */
export const METADATA_CIDR = `${METADATA_ADDRESS}/32`;

/** The headers the proxy sets (overwriting any the guest sent) and the server trusts. */
export const SOURCE_HEADER = 'x-forwarded-for';
export const NETWORK_ID_HEADER = 'x-novaless-network-id';

/** The proxy itself: plain ESM without dependencies, run by node inside the namespace. */
export const PROXY_SCRIPT = agentFiles().metadataProxyScript;

/** The metadata server's socket, under the data plane's state dir (root only: see metadata-server.ts). */
export const metadataSocketPath = (dataPlaneStateDir: string) => join(dataPlaneStateDir, 'metadata', 'metadata.sock');

export interface ProxyFiles {
  pidFile: string;
  logFile: string;
}

/** The proxy's files, in the directory of its network's DHCP files. */
export const proxyFiles = (dhcpDir: string): ProxyFiles => ({ pidFile: join(dhcpDir, 'metadata-proxy.pid'), logFile: join(dhcpDir, 'metadata-proxy.log') });

/** The running proxy's arguments (argv[0], node, aside): what /proc shows of it. */
export function proxyArgs(networkId: string, socketPath: string, files: ProxyFiles): string[] {
  return [PROXY_SCRIPT, `--network-id=${networkId}`, `--socket=${socketPath}`, `--listen=${METADATA_ADDRESS}:80`, `--pid-file=${files.pidFile}`, `--log-file=${files.logFile}`];
}

/** Starts the proxy of `networkId` in `ns` unless it already runs with these arguments. Needs METADATA_CIDR on the namespace's veth. */
export async function ensureMetadataProxy(ctx: HostContext, networkId: string, ns: string, files: ProxyFiles, changes: Changes): Promise<void> {
  const args = proxyArgs(networkId, metadataSocketPath(ctx.stateDir), files);
  const pid = await readPidFile(files.pidFile);
  const running = pid === undefined ? undefined : await argsOf(pid);
  const ours = running?.includes(`--pid-file=${files.pidFile}`);
  if (ours && running!.join('\0') === args.join('\0')) return;
  if (ours) await stopProcess(pid!);
  await rm(files.pidFile, { force: true });
  // With --daemon the proxy forks; its parent exits once the child listens, or fails with the reason.
  await ctx.runner.run(process.execPath, [...args, '--daemon'], { netns: ns });
  ctx.log(`${ours ? 'restarted' : 'started'} the metadata proxy for network ${networkId} in ${ns}`);
  if (ours) changes.changed++;
  else changes.added++;
}

/** Stops the proxy whose pid file is in `files`, if it runs. */
export async function stopMetadataProxy(ctx: HostContext, networkId: string, files: ProxyFiles, changes: Changes): Promise<void> {
  const pid = await readPidFile(files.pidFile);
  if (pid === undefined || !(await argsOf(pid))?.includes(`--pid-file=${files.pidFile}`)) return;
  await stopProcess(pid);
  ctx.log(`stopped the metadata proxy of network ${networkId}`);
  changes.removed++;
}
