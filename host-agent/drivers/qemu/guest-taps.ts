import type { Logger } from '@aws-lambda-powertools/logger';
import type { GuestNic } from '../../../shared/messages/host.js';
import { CommandError, type CommandRunner } from '../../network/command-runner.js';

export interface GuestTapsOptions {
  runner: CommandRunner;
  /** The namespace QEMU runs in (the data plane's); absent = the agent's own. */
  netns?: string;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** The part of `ip -j -d link show dev <tap>` read here. */
interface TapLink {
  master?: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { type?: string; multi_queue?: boolean } };
}

/**
 * Makes sure each NIC's tap exists where QEMU will open it, before QEMU starts. The host's data
 * plane normally made it already (persistent, `vnet_hdr`, on the network's bridge, with its
 * firewall rules); a spawn may come before the data plane's plan, so a missing tap is created
 * the same way and left for the data plane to attach (its rules drop every tap they do not
 * know, so an unattached tap carries nothing). An existing device QEMU could not open as its
 * single-queue tap (a multi-queue tap: EINVAL; a tun or a veth) is made again, on the same bridge.
 */
export async function ensureGuestTaps(nics: readonly GuestNic[], options: GuestTapsOptions): Promise<void> {
  for (const nic of nics) {
    const link = await readTap(nic.tap_name, options);
    if (link && isSingleQueueTap(link)) continue;
    if (link) {
      options.log.warn('the device of a guest NIC is not a single-queue tap, making it again', { tap: nic.tap_name, kind: link.linkinfo?.info_kind, info: link.linkinfo?.info_data });
      await ip(options, ['link', 'del', nic.tap_name]);
    }
    await ip(options, ['tuntap', 'add', 'dev', nic.tap_name, 'mode', 'tap', 'vnet_hdr']);
    // As the data plane does for the taps it makes: no IPv6 (link-local addresses, DAD) on guest segments.
    await options.runner.run('sysctl', ['-qw', `net.ipv6.conf.${nic.tap_name}.disable_ipv6=1`], { netns: options.netns });
    await ip(options, ['link', 'set', nic.tap_name, 'mtu', String(nic.mtu)]);
    if (link?.master) await ip(options, ['link', 'set', nic.tap_name, 'master', link.master, 'up']);
    options.log.info('created the tap of a guest NIC', { tap: nic.tap_name, port_id: nic.port_id, netns: options.netns, bridge: link?.master });
  }
}

export const isSingleQueueTap = (link: TapLink) =>
  link.linkinfo?.info_kind === 'tun' && link.linkinfo.info_data?.type === 'tap' && !link.linkinfo.info_data.multi_queue;

const ip = (options: GuestTapsOptions, args: string[]) => options.runner.run('ip', args, { netns: options.netns });

async function readTap(name: string, options: GuestTapsOptions): Promise<TapLink | undefined> {
  try {
    const [link] = JSON.parse(await ip(options, ['-j', '-d', 'link', 'show', 'dev', name])) as TapLink[];
    return link;
  } catch (error) {
    if (error instanceof CommandError && /does not exist/.test(error.stderr)) return undefined;
    throw error;
  }
}
