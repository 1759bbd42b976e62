import { z } from 'zod';
import { stopProcess } from './processes.js';
import type { CommandRunner } from './command-runner.js';

/** What every applier works with: how to run commands on the host, where its files go, where it says what it did. */
export interface HostContext {
  runner: CommandRunner;
  /** The host's data-plane namespace; absent = the agent's own. */
  netns?: string;
  /** The data plane's own directory (DHCP files, the last nft ruleset applied). */
  stateDir: string;
  /** One plain sentence per change. */
  log: (message: string) => void;
}

/** How many things an applier added, changed and removed: all zero when the host already was as desired. */
export interface Changes {
  added: number;
  changed: number;
  removed: number;
}
export const noChanges = (): Changes => ({ added: 0, changed: 0, removed: 0 });
export const changeCount = (c: Changes) => c.added + c.changed + c.removed;

export const ip = (ctx: HostContext, args: readonly string[], netns = ctx.netns) => ctx.runner.run('ip', args, { netns });
export const bridgeCmd = (ctx: HostContext, args: readonly string[]) => ctx.runner.run('bridge', args, { netns: ctx.netns });

/** Turns IPv6 off on a device we made (no link-local addresses, router solicitations or DAD on guest segments). */
export async function disableIpv6(ctx: HostContext, device: string, netns = ctx.netns): Promise<void> {
  await ctx.runner.run('sysctl', ['-qw', `net.ipv6.conf.${device}.disable_ipv6=1`], { netns });
}

/** The part of `ip -j -d link show` the appliers read. */
const LinkSchema = z.looseObject({
  ifname: z.string(),
  mtu: z.number(),
  flags: z.array(z.string()).default([]),
  master: z.string().optional(),
  address: z.string().optional(),
  linkinfo: z
    .looseObject({
      info_kind: z.string().optional(),
      info_data: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
export type Link = z.infer<typeof LinkSchema>;

export async function readLinks(ctx: HostContext, netns = ctx.netns): Promise<Map<string, Link>> {
  const links = z.array(LinkSchema).parse(JSON.parse((await ip(ctx, ['-j', '-d', 'link', 'show'], netns)) || '[]'));
  return new Map(links.map((link) => [link.ifname, link]));
}

export const isUp = (link: Link) => link.flags.includes('UP');
export const kindOf = (link: Link) => link.linkinfo?.info_kind;

/** The namespaces that exist, by name (`ip netns list` reads /run/netns, the same from any namespace). */
export async function listNamespaces(ctx: HostContext): Promise<Set<string>> {
  const out = await ctx.runner.run('ip', ['-j', 'netns', 'list']);
  const list = z.array(z.looseObject({ name: z.string() })).parse(JSON.parse(out.trim() || '[]'));
  return new Set(list.map((ns) => ns.name));
}

/** Deletes one of our namespaces, stopping what still runs in it first: deleting a namespace leaves its processes running. */
export async function deleteNamespace(ctx: HostContext, ns: string): Promise<void> {
  const pids = (await ctx.runner.run('ip', ['netns', 'pids', ns])).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) await stopProcess(pid);
  await ctx.runner.run('ip', ['netns', 'del', ns]);
}
