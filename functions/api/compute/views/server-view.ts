import { createHash } from 'node:crypto';
import type { Host } from '../../../../shared/domain/host.js';
import type { Instance } from '../../../../shared/domain/instance.js';
import { statusOf } from '../../../../shared/domain/instance-states.js';
import { getHost, listHosts } from '../../../../shared/store/hosts.js';
import { getServerGroup } from '../../../../shared/store/server-groups.js';
import type { ApiRequest } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { hostState } from '../compute-hosts.js';
import { computeBase, resourceLinks } from '../links.js';

/** The root disk is the guest's first virtio-blk disk (see the QEMU driver). */
const ROOT_DEVICE_NAME = '/dev/vda';

/** Nova's hostId: an opaque per-project hash of the host, so users can tell co-location apart. */
const hostIdOf = (i: Instance) => (i.host ? createHash('sha224').update(i.project_id + i.host).digest('hex') : '');

/** `addresses` as Nova shows them: per network label, with the MAC and type extensions unless `extended` is false (update and rebuild responses). */
export function addressesView(i: Instance, extended = true) {
  return Object.fromEntries(
    Object.entries(i.addresses).map(([label, addrs]) => [
      label,
      addrs.map((a) => ({ addr: a.addr, version: a.version, ...(extended && { 'OS-EXT-IPS:type': a.type, 'OS-EXT-IPS-MAC:mac_addr': a.mac_addr }) })),
    ]),
  );
}

/** The statuses in which Nova's view shows `progress`. */
const PROGRESS_STATUSES = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING']);

/** The brief form used by `GET /servers`. */
export function serverSummary(req: ApiRequest, i: Instance) {
  return { id: i.id, name: i.name, links: resourceLinks(req, 'servers', i.id) };
}

export interface DetailOptions {
  /** The hosts of the instances shown, by name, for `host_status` (see `hostsOf`). */
  hosts?: ReadonlyMap<string, Host>;
  /**
   * An update or rebuild response: until 2.75 Nova shows only the core attributes there (no
   * extended addresses, key_name, config_drive, security_groups, OS-EXT-*, OS-SRV-USG:*, volumes,
   * 2.3 attributes or host_status), as its samples `server-update-resp.json` and
   * `server-action-rebuild-resp.json` show.
   */
  changeResponse?: boolean;
  /**
   * A rebuild response: from 2.54 it shows key_name even below 2.75, from 2.57 a top-level
   * `user_data` instead of `OS-EXT-SRV-ATTR:user_data` (Nova's show_user_data=False).
   */
  rebuildResponse?: boolean;
  /**
   * The server's groups (2.71): shown by show, update and rebuild, not by the detail list. The
   * caller reads them (see `serverGroupsOf`) so the view stays synchronous.
   */
  serverGroups?: string[];
}

/** Nova's _get_server_groups: the group the server is in, if that group still exists. */
export async function serverGroupsOf(req: ApiRequest, i: Instance): Promise<string[] | undefined> {
  if (!req.microversion.atLeast('2.71')) return undefined;
  if (!i.server_group_id) return [];
  return (await getServerGroup(i.server_group_id)) ? [i.server_group_id] : [];
}

/**
 * The hosts `host_status` needs (admins, from 2.16): one read for a single server, one list for
 * many; an empty map when the field is not shown.
 */
export async function hostsOf(req: ApiRequest, instances: Instance[]): Promise<Map<string, Host>> {
  const names = new Set(instances.map((i) => i.host).filter((h): h is string => !!h));
  if (!isAdmin(req.auth) || !req.microversion.atLeast('2.16') || names.size === 0) return new Map();
  const hosts = names.size === 1 ? [await getHost([...names][0])] : await listHosts();
  return new Map(hosts.filter((h): h is Host => !!h && names.has(h.host)).map((h) => [h.host, h]));
}

/**
 * Nova's get_instance_host_status: forced down is DOWN, a disabled service MAINTENANCE, a host
 * that missed its heartbeats UNKNOWN (not DOWN: it may still run the guest), no host ''.
 */
export function hostStatusOf(host: Host | undefined, now = Date.now()): 'UP' | 'DOWN' | 'MAINTENANCE' | 'UNKNOWN' | '' {
  if (!host) return '';
  if (host.forced_down) return 'DOWN';
  if (host.status === 'disabled') return 'MAINTENANCE';
  return hostState(host, now) === 'up' ? 'UP' : 'UNKNOWN';
}

/** The full form used by show, detail, update and rebuild, with what the request's microversion adds. */
export function serverDetail(req: ApiRequest, i: Instance, options: DetailOptions = {}) {
  const status = statusOf(i.vm_state, i.task_state);
  const admin = isAdmin(req.auth);
  const mv = req.microversion;
  const base = computeBase(req);
  const brief = options.changeResponse === true && !mv.atLeast('2.75');
  const view: Record<string, unknown> = {
    id: i.id,
    name: i.name,
    status,
    tenant_id: i.project_id,
    user_id: i.user_id,
    metadata: i.metadata,
    hostId: hostIdOf(i),
    image: {
      id: i.image_ref,
      links: [{ href: `${base}/images/${i.image_ref}`, rel: 'bookmark' }],
      ...(mv.atLeast('2.98') && { properties: i.image_properties ?? {} }),
    },
    flavor: flavorView(req, i),
    created: isoSeconds(i.created_at),
    updated: isoSeconds(i.updated_at),
    addresses: addressesView(i, !brief),
    accessIPv4: i.access_ip_v4,
    accessIPv6: i.access_ip_v6,
    links: resourceLinks(req, 'servers', i.id),
    ...(!brief && { config_drive: i.config_drive ? 'True' : '' }),
    ...((!brief || (options.rebuildResponse && mv.atLeast('2.54'))) && { key_name: i.key_name }),
    ...(PROGRESS_STATUSES.has(status) && { progress: 0 }),
    // Nova lists the groups of the server's ports, and leaves the key out when there are none.
    ...(!brief && i.security_groups.length > 0 && { security_groups: i.security_groups.map((name) => ({ name })) }),
    'OS-DCF:diskConfig': 'MANUAL',
  };
  if (!brief) {
    Object.assign(view, {
      'OS-EXT-AZ:availability_zone': i.availability_zone ?? '',
      'OS-EXT-STS:vm_state': i.vm_state,
      'OS-EXT-STS:task_state': i.task_state,
      'OS-EXT-STS:power_state': i.power_state,
      'OS-SRV-USG:launched_at': i.launched_at ? i.launched_at.replace('Z', '') : null,
      'OS-SRV-USG:terminated_at': null,
      'os-extended-volumes:volumes_attached': [],
    });
  }
  if (admin && !brief) {
    view['OS-EXT-SRV-ATTR:host'] = i.host;
    view['OS-EXT-SRV-ATTR:hypervisor_hostname'] = i.host;
    view['OS-EXT-SRV-ATTR:instance_name'] = instanceName(i);
    if (mv.atLeast('2.3')) {
      Object.assign(view, {
        'OS-EXT-SRV-ATTR:reservation_id': i.reservation_id,
        'OS-EXT-SRV-ATTR:launch_index': i.launch_index,
        'OS-EXT-SRV-ATTR:hostname': i.hostname,
        'OS-EXT-SRV-ATTR:kernel_id': '',
        'OS-EXT-SRV-ATTR:ramdisk_id': '',
        'OS-EXT-SRV-ATTR:root_device_name': ROOT_DEVICE_NAME,
        ...(!options.rebuildResponse && { 'OS-EXT-SRV-ATTR:user_data': i.user_data }),
      });
    }
  } else if (mv.atLeast('2.90')) {
    // 2.90 shows the hostname to everyone.
    view['OS-EXT-SRV-ATTR:hostname'] = i.hostname;
  }
  // From 2.3 each `volumes_attached` entry also has delete_on_termination; no volumes attach here.
  if (mv.atLeast('2.9')) view.locked = i.locked;
  if (mv.atLeast('2.16') && admin && !brief) view.host_status = hostStatusOf(i.host ? options.hosts?.get(i.host) : undefined);
  if (mv.atLeast('2.19')) view.description = i.description;
  if (mv.atLeast('2.26')) view.tags = i.tags;
  if (mv.atLeast('2.63')) view.trusted_image_certificates = i.trusted_image_certificates ?? null;
  if (options.serverGroups) view.server_groups = options.serverGroups;
  if (mv.atLeast('2.73')) view.locked_reason = i.locked_reason ?? null;
  if (mv.atLeast('2.96') && !brief) view.pinned_availability_zone = i.pinned_availability_zone ?? null;
  if (mv.atLeast('2.100')) view.scheduler_hints = i.requested_scheduler_hints ?? {};
  if (options.rebuildResponse && mv.atLeast('2.57')) view.user_data = i.user_data;
  if (i.fault && (status === 'ERROR' || status === 'DELETED')) {
    view.fault = {
      code: i.fault.code,
      created: isoSeconds(i.fault.created),
      message: i.fault.message,
      // Nova shows details of 500 faults to admins only.
      ...(i.fault.details && (admin || i.fault.code !== 500) ? { details: i.fault.details } : {}),
    };
  }
  return view;
}

/**
 * The server's flavor: its id and link until 2.47, then the flavor as it was at boot (Nova's
 * embedded flavor) with its extra specs (Nova's show:flavor-extra-specs policy: project readers).
 */
function flavorView(req: ApiRequest, i: Instance) {
  if (!req.microversion.atLeast('2.47')) {
    return { id: i.flavor.id, links: [{ href: `${computeBase(req)}/flavors/${i.flavor.id}`, rel: 'bookmark' }] };
  }
  const { name, vcpus, ram, disk, ephemeral, swap, extra_specs } = i.flavor;
  return { vcpus, ram, disk, ephemeral, swap, original_name: name, extra_specs };
}

/** libvirt-style domain name derived from the uuid (Nova uses a sequential id; ours is stable per instance). */
export const instanceName = (i: Instance) => `instance-${i.id.slice(0, 8)}`;

const isoSeconds = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');
