import { createHash } from 'node:crypto';
import type { Instance } from '../../../../shared/domain/instance.js';
import { statusOf } from '../../../../shared/domain/instance-states.js';
import type { ApiRequest } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { computeBase, resourceLinks } from '../links.js';

/** Nova's hostId: an opaque per-project hash of the host, so users can tell co-location apart. */
const hostIdOf = (i: Instance) => (i.host ? createHash('sha224').update(i.project_id + i.host).digest('hex') : '');

/** `addresses` as Nova shows them: per network label, with the MAC and type extensions. */
export function addressesView(i: Instance) {
  return Object.fromEntries(
    Object.entries(i.addresses).map(([label, addrs]) => [
      label,
      addrs.map((a) => ({ addr: a.addr, version: a.version, 'OS-EXT-IPS:type': a.type, 'OS-EXT-IPS-MAC:mac_addr': a.mac_addr })),
    ]),
  );
}

/** The brief form used by `GET /servers`. */
export function serverSummary(req: ApiRequest, i: Instance) {
  return { id: i.id, name: i.name, links: resourceLinks(req, 'servers', i.id) };
}

/** The full form used by show, detail and update (microversion 2.1). */
export function serverDetail(req: ApiRequest, i: Instance) {
  const status = statusOf(i.vm_state, i.task_state);
  const admin = isAdmin(req.auth);
  const base = computeBase(req);
  const view: Record<string, unknown> = {
    id: i.id,
    name: i.name,
    status,
    tenant_id: i.project_id,
    user_id: i.user_id,
    metadata: i.metadata,
    hostId: hostIdOf(i),
    image: { id: i.image_ref, links: [{ href: `${base}/images/${i.image_ref}`, rel: 'bookmark' }] },
    flavor: { id: i.flavor.id, links: [{ href: `${base}/flavors/${i.flavor.id}`, rel: 'bookmark' }] },
    created: isoSeconds(i.created_at),
    updated: isoSeconds(i.updated_at),
    addresses: addressesView(i),
    accessIPv4: '',
    accessIPv6: '',
    links: resourceLinks(req, 'servers', i.id),
    key_name: i.key_name,
    config_drive: i.config_drive ? 'True' : '',
    progress: 0,
    security_groups: i.security_groups.map((name) => ({ name })),
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-EXT-AZ:availability_zone': i.availability_zone ?? '',
    'OS-EXT-STS:vm_state': i.vm_state,
    'OS-EXT-STS:task_state': i.task_state,
    'OS-EXT-STS:power_state': i.power_state,
    'OS-SRV-USG:launched_at': i.launched_at ? i.launched_at.replace('Z', '') : null,
    'OS-SRV-USG:terminated_at': null,
    'os-extended-volumes:volumes_attached': [],
  };
  if (admin) {
    view['OS-EXT-SRV-ATTR:host'] = i.host;
    view['OS-EXT-SRV-ATTR:hypervisor_hostname'] = i.host;
    view['OS-EXT-SRV-ATTR:instance_name'] = instanceName(i);
  }
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

/** libvirt-style domain name derived from the uuid (Nova uses a sequential id; ours is stable per instance). */
export const instanceName = (i: Instance) => `instance-${i.id.slice(0, 8)}`;

const isoSeconds = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');
