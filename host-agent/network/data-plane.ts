import { mkdir } from 'node:fs/promises';
import type { CommandRunner } from './command-runner.js';
import { HostNetworkStateSchema, type HostNetworkState, type HostNetworkStateInput } from './desired-state.js';
import { applyDhcp } from './dhcp.js';
import { changeCount, noChanges, type Changes, type HostContext } from './host-context.js';
import { applyL2, removeStalePorts, type GuestStandIns } from './l2.js';
import { applyRouters } from './routers.js';
import { applySecurity, removeSecurity } from './security-groups.js';

/**
 * One host's data plane brought to a desired state, idempotently: every applier reads the
 * kernel, changes only what differs and removes what is ours (by name) and no longer desired,
 * so applying the same state twice changes nothing, and a lost or repeated message is harmless.
 *
 * Order, so that no port is ever on a bridge without its rules:
 * 1. the namespace's br_netfilter sysctls (only in a namespace of our own);
 * 2. stale port devices removed (while their rules still hold);
 * 3. the whole firewall replaced in one transaction (rules name devices, so they may come first;
 *    a tap without rules drops everything anyway);
 * 4. bridges, VXLAN devices, taps and FDB entries; stale networks removed;
 * 5. distributed routers (routers.ts): stale ones removed, the isolation rules, then namespaces,
 *    veths into the bridges (which exist by now), NAT and floating IPs;
 * 6. DHCP namespaces and dnsmasq; stale ones removed.
 */

export interface DataPlaneOptions {
  runner: CommandRunner;
  /** Where the data plane keeps its files (DHCP hosts, leases, pids; the last ruleset applied). */
  stateDir: string;
  log?: (message: string) => void;
  /** Tests only: ports whose device is a veth into a namespace standing in for the guest (see l2.ts). */
  guestStandIns?: GuestStandIns;
}

export interface DataPlaneSummary {
  l2: Changes;
  security: Changes;
  routers: Changes;
  dhcp: Changes;
  /** Everything added, changed and removed: 0 when the host already was as desired. */
  total: number;
}

export async function applyHostNetworkState(input: HostNetworkStateInput | HostNetworkState, options: DataPlaneOptions): Promise<DataPlaneSummary> {
  const state = HostNetworkStateSchema.parse(input);
  const ctx = contextOf(state, options);
  await mkdir(ctx.stateDir, { recursive: true });
  const summary = { l2: noChanges(), security: noChanges(), routers: noChanges(), dhcp: noChanges() };
  await prepareNamespace(ctx);
  await removeStalePorts(ctx, state, summary.l2);
  await applySecurity(ctx, state, summary.security);
  await applyL2(ctx, state, summary.l2, options.guestStandIns);
  await applyRouters(ctx, state, summary.routers);
  await applyDhcp(ctx, state, summary.dhcp);
  return withTotal(summary);
}

/** Removes everything the data plane made on the host: routers, DHCP, ports, networks, then the firewall tables. */
export async function teardownHostNetwork(host: Pick<HostNetworkState, 'netns' | 'underlay_ip'>, options: DataPlaneOptions): Promise<DataPlaneSummary> {
  const state = HostNetworkStateSchema.parse({ netns: host.netns, underlay_ip: host.underlay_ip });
  const ctx = contextOf(state, options);
  const summary = { l2: noChanges(), security: noChanges(), routers: noChanges(), dhcp: noChanges() };
  await applyRouters(ctx, state, summary.routers);
  await applyDhcp(ctx, state, summary.dhcp);
  await removeStalePorts(ctx, state, summary.l2);
  await applyL2(ctx, state, summary.l2);
  await removeSecurity(ctx, summary.security);
  return withTotal(summary);
}

/** The summary in plain words, for the agent's log. */
export function describeSummary(summary: DataPlaneSummary): string {
  if (summary.total === 0) return 'network already as desired, nothing changed';
  const part = (name: string, c: Changes) => `${name} ${c.added} added, ${c.changed} changed, ${c.removed} removed`;
  return [part('L2:', summary.l2), part('firewall:', summary.security), part('routers:', summary.routers), part('DHCP:', summary.dhcp)].join('; ');
}

function contextOf(state: HostNetworkState, options: DataPlaneOptions): HostContext {
  return { runner: options.runner, netns: state.netns, stateDir: options.stateDir, log: options.log ?? (() => {}) };
}

const withTotal = (s: Omit<DataPlaneSummary, 'total'>): DataPlaneSummary => ({ ...s, total: changeCount(s.l2) + changeCount(s.security) + changeCount(s.routers) + changeCount(s.dhcp) });

/**
 * br_netfilter's sysctls are 1 in every new namespace, which would send every bridge's IPv4,
 * IPv6 and ARP through the namespace's hooks. In a namespace of our own they go to 0: our
 * bridges opt in for IPv4 with their own nf_call_iptables (the kernel ORs the two). The agent's
 * own namespace (a real host's root) is left as its admin set it.
 */
async function prepareNamespace(ctx: HostContext): Promise<void> {
  if (!ctx.netns) return;
  const keys = ['iptables', 'ip6tables', 'arptables'].map((k) => `net.bridge.bridge-nf-call-${k}`);
  const current = await ctx.runner.run('sysctl', ['-n', ...keys], { netns: ctx.netns });
  if (current.split(/\s+/).filter(Boolean).every((v) => v === '0')) return;
  await ctx.runner.run('sysctl', ['-qw', ...keys.map((k) => `${k}=0`)], { netns: ctx.netns });
  ctx.log(`set ${keys.join(', ')} to 0 in ${ctx.netns}`);
}
