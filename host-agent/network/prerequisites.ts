import { access } from 'node:fs/promises';
import { onPath } from '../config.js';

/** The programs the data plane runs, with the Debian package that has each. */
export const DATA_PLANE_TOOLS = [
  { command: 'ip', package: 'iproute2' },
  { command: 'bridge', package: 'iproute2' },
  { command: 'nft', package: 'nftables' },
  { command: 'dnsmasq', package: 'dnsmasq-base' },
  { command: 'sysctl', package: 'procps' },
  { command: 'arping', package: 'iputils-arping' },
  // No `node`: the metadata proxy in each DHCP namespace runs on the agent's own Node.js (process.execPath).
] as const;

export interface DataPlaneCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a host needs for guest networking, each with what to do when it is missing. */
export async function checkDataPlanePrerequisites(path?: string): Promise<DataPlaneCheck[]> {
  const checks: DataPlaneCheck[] = DATA_PLANE_TOOLS.map(({ command, package: pkg }) => {
    const ok = onPath(command, path);
    return { name: command, ok, detail: ok ? 'found' : `not found on PATH (apt-get install ${pkg})` };
  });
  const brNetfilter = await access('/proc/sys/net/bridge/bridge-nf-call-iptables').then(
    () => true,
    () => false,
  );
  checks.push({ name: 'br_netfilter', ok: brNetfilter, detail: brNetfilter ? 'loaded' : 'not loaded: security groups need it (modprobe br_netfilter)' });
  return checks;
}

/** Whether this agent can give guests their networks: the data plane needs root and `ip`, `nft`, `dnsmasq`. */
export function guestNetworking(path?: string): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'the agent does not run as root (bridges, taps and nftables need it)' };
  const missing = DATA_PLANE_TOOLS.filter((t) => !onPath(t.command, path)).map((t) => `${t.command} (${t.package})`);
  if (missing.length) return { ok: false, why: `missing ${missing.join(', ')}` };
  return { ok: true };
}
