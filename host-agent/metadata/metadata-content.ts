import { posix } from 'node:path';
import type { GuestSpec } from '../../shared/messages/host.js';
import { metaDataOf, networkDataOf } from '../config-drive/config-drive.js';

/**
 * What Nova's metadata service answers one instance, pure (nova/api/metadata/base.py,
 * InstanceMetadata.lookup): the OpenStack tree under /openstack, and the EC2-style tree
 * everywhere else. The OpenStack files are the config drive's own (config-drive.ts), so a guest
 * reads the same whichever data source it uses.
 */

/** The EC2 versions Nova lists at `/`. */
export const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04'];

/** Nova's OpenStack metadata versions (FOLSOM … ROCKY), each answered like `latest`. */
export const OPENSTACK_VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27'];
const HAVANA = '2013-10-17';
const LIBERTY = '2015-10-15';
const NEWTON_TWO = '2016-10-06';

/** The instance behind a request, as the server found it. */
export interface InstanceView {
  spec: GuestSpec;
  /** The address the request came from: the instance's fixed IP on that network. */
  fixedIp: string;
  /** Its floating IP on this host, when the plan has one. */
  floatingIp?: string;
}

export type MetadataAnswer = { status: 200; contentType: string; body: Buffer } | { status: 404 };

const NOT_FOUND: MetadataAnswer = { status: 404 };
const text = (body: string): MetadataAnswer => ({ status: 200, contentType: 'text/plain; charset=utf-8', body: Buffer.from(body) });
const json = (value: unknown): MetadataAnswer => ({ status: 200, contentType: 'application/json', body: Buffer.from(JSON.stringify(value)) });

/** A node of a tree Nova lists: a leaf, or a directory (its `_name`, when there, is how its parent lists it). */
type Node = string | Buffer | { [key: string]: Node };

export function lookup(path: string, instance: InstanceView): MetadataAnswer {
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  if (parts[0] === 'openstack') return openstack(parts.slice(1), instance);
  if (parts.length === 0) return text([...EC2_VERSIONS, 'latest'].join('\n'));
  const [version, ...rest] = parts;
  if (version !== 'latest' && !EC2_VERSIONS.includes(version)) return NOT_FOUND;
  return walk(ec2Tree(instance), rest);
}

function openstack(parts: string[], instance: InstanceView): MetadataAnswer {
  if (parts.length === 0) return text([...OPENSTACK_VERSIONS, 'latest'].join('\n'));
  const [version, file, ...rest] = parts;
  if (version !== 'latest' && !OPENSTACK_VERSIONS.includes(version)) return NOT_FOUND;
  const since = (v: string) => version === 'latest' || version >= v;
  const userData = userDataOf(instance.spec);
  const files: Record<string, () => MetadataAnswer> = {
    'meta_data.json': () => json(metaDataOf(instance.spec)),
    ...(userData ? { user_data: () => ({ status: 200, contentType: 'application/octet-stream', body: userData }) } : {}),
    ...(since(HAVANA) ? { 'vendor_data.json': () => json({}) } : {}),
    ...(since(LIBERTY) ? { 'network_data.json': () => json(networkDataOf(instance.spec)) } : {}),
    ...(since(NEWTON_TWO) ? { 'vendor_data2.json': () => json({}) } : {}),
  };
  if (file === undefined) return text(Object.keys(files).join('\n'));
  if (rest.length || !Object.hasOwn(files, file)) return NOT_FOUND;
  return files[file]();
}

/** The EC2 tree cloud-init's Ec2 data source crawls (Nova's get_ec2_metadata). */
function ec2Tree(instance: InstanceView): Record<string, Node> {
  const { spec } = instance;
  const keys: Record<string, Node> = spec.key_name && spec.key_data ? { '0': { _name: `0=${spec.key_name}`, 'openssh-key': spec.key_data } } : {};
  const metaData: Record<string, Node> = {
    'ami-id': ec2Id('ami', spec.image_id),
    'ami-launch-index': String(spec.launch_index),
    'ami-manifest-path': 'FIXME',
    'block-device-mapping': { ami: 'vda', root: '/dev/vda' },
    hostname: spec.hostname,
    'instance-action': 'none',
    'instance-id': ec2Id('i', spec.instance_id),
    'instance-type': spec.flavor.name,
    'local-hostname': spec.hostname,
    'local-ipv4': instance.fixedIp,
    placement: { 'availability-zone': spec.availability_zone ?? '' },
    'public-hostname': spec.hostname,
    ...(instance.floatingIp ? { 'public-ipv4': instance.floatingIp } : {}),
    'public-keys': keys,
    'reservation-id': ec2Id('r', spec.instance_id),
  };
  const userData = userDataOf(spec);
  return { 'meta-data': metaData, ...(userData ? { 'user-data': userData } : {}) };
}

function walk(tree: Node, parts: string[]): MetadataAnswer {
  let node: Node = tree;
  for (const part of parts) {
    if (typeof node === 'string' || Buffer.isBuffer(node) || part === '_name' || !Object.hasOwn(node, part)) return NOT_FOUND;
    node = node[part];
  }
  if (Buffer.isBuffer(node)) return { status: 200, contentType: 'application/octet-stream', body: node };
  if (typeof node === 'string') return text(node);
  return text(listing(node));
}

/** A directory as Nova lists it: one entry a line, directories with a slash, or by their `_name`. */
function listing(dir: { [key: string]: Node }): string {
  return Object.entries(dir)
    .filter(([key]) => key !== '_name')
    .map(([key, child]) => {
      if (typeof child === 'string' || Buffer.isBuffer(child)) return key;
      return typeof child._name === 'string' ? child._name : `${key}/`;
    })
    .join('\n');
}

/** user_data arrives base64-encoded, as the API takes it; null or empty = none. */
function userDataOf(spec: GuestSpec): Buffer | undefined {
  return spec.user_data ? Buffer.from(spec.user_data, 'base64') : undefined;
}

/** An EC2-style id (`i-0a1b2c3d`) from the first 8 hex digits of a UUID, as Nova's `i-%08x`. */
export function ec2Id(prefix: string, uuid: string): string {
  const hex = uuid.replace(/[^0-9a-f]/gi, '').toLowerCase().slice(0, 8).padStart(8, '0');
  return `${prefix}-${hex}`;
}
