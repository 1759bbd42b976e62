import type { Instance } from '../../../shared/domain/instance.js';
import { statusOf } from '../../../shared/domain/instance-states.js';
import { BadRequest } from '../../../shared/errors.js';
import type { ApiRequest } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';

/**
 * The query of `GET /servers` and `/servers/detail` beyond what servers.ts filters itself: the
 * parameters each microversion knows (strict from 2.75), the statuses (400 for an unknown one from
 * 2.38), and the column filters Nova's database applies (admins any of them, others those 2.83 and
 * 2.90 open to them).
 */

/** Nova's index_query properties (2.1), with the joined-table names it refuses later. */
const PARAMS_V21 = [
  'user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'kernel_id', 'ramdisk_id', 'hostname', 'key_name',
  'power_state', 'vm_state', 'task_state', 'host', 'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at',
  'availability_zone', 'name', 'display_name', 'description', 'display_description', 'locked_by', 'uuid', 'root_device_name',
  'config_drive', 'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress', 'sort_key', 'sort_dir', 'all_tenants',
  'soft_deleted', 'deleted', 'status', 'changes-since', 'ip', 'ip6', 'created_at', 'limit', 'marker',
  'block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache', 'security_groups', 'pci_devices',
];
const JOINED_TABLE_PARAMS = new Set(['block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache', 'security_groups', 'pci_devices']);

function knownParams(req: ApiRequest): Set<string> {
  const mv = req.microversion;
  return new Set([
    ...PARAMS_V21,
    ...(mv.atLeast('2.26') ? ['tags', 'tags-any', 'not-tags', 'not-tags-any'] : []),
    ...(mv.atLeast('2.66') ? ['changes-before'] : []),
    ...(mv.atLeast('2.73') ? ['locked'] : []),
  ]);
}

/** The filters a non-admin may use (Nova's _get_server_search_options); others are dropped silently, as Nova's remove_invalid_options does. */
function userParams(req: ApiRequest): Set<string> {
  const mv = req.microversion;
  return new Set([
    'reservation_id', 'name', 'status', 'image', 'flavor', 'ip', 'changes-since', 'all_tenants',
    ...(mv.atLeast('2.5') ? ['ip6'] : []),
    ...(mv.atLeast('2.26') ? ['tags', 'tags-any', 'not-tags', 'not-tags-any'] : []),
    ...(mv.atLeast('2.66') ? ['changes-before'] : []),
    ...(mv.atLeast('2.73') ? ['locked'] : []),
    ...(mv.atLeast('2.83')
      ? ['availability_zone', 'config_drive', 'key_name', 'created_at', 'launched_at', 'terminated_at', 'power_state', 'task_state', 'vm_state', 'progress', 'user_id']
      : []),
    ...(mv.atLeast('2.90') ? ['hostname'] : []),
  ]);
}

const PAGING_SORTING = new Set(['limit', 'marker', 'sort_key', 'sort_dir']);

/**
 * The query checked as Nova's schema does: from 2.75 an unknown parameter is a 400; at any version
 * a joined-table name or one starting with '_' is Nova's "Invalid filter field".
 */
export function checkListQuery(req: ApiRequest): void {
  const known = knownParams(req);
  for (const name of new Set(req.query.keys())) {
    if (req.microversion.atLeast('2.75') && !known.has(name) && !name.startsWith('_')) {
      throw new BadRequest(`Additional properties are not allowed ('${name}' was unexpected)`);
    }
    if (JOINED_TABLE_PARAMS.has(name) || name.startsWith('_')) throw new BadRequest(`Invalid filter field: ${name}.`);
  }
}

/** Whether this request may filter on `name` (admins on everything, as Nova's allow_all_filters). */
export function mayFilterOn(req: ApiRequest, name: string): boolean {
  if (PAGING_SORTING.has(name)) return false;
  return isAdmin(req.auth) || userParams(req).has(name);
}

/** Every status Nova's _STATE_MAP can show. */
const STATUSES = new Set([
  'ACTIVE', 'REBOOT', 'HARD_REBOOT', 'PASSWORD', 'REBUILD', 'MIGRATING', 'RESIZE', 'BUILD', 'SHUTOFF', 'VERIFY_RESIZE',
  'REVERT_RESIZE', 'PAUSED', 'SUSPENDED', 'RESCUE', 'ERROR', 'DELETED', 'SOFT_DELETED', 'SHELVED', 'SHELVED_OFFLOADED',
]);

/**
 * `status` (one or more): none of them known is a 400 from 2.38 and an empty list before
 * (`'empty'`); otherwise the servers showing one of them.
 */
export function statusFilterOf(req: ApiRequest): ((i: Instance) => boolean) | 'empty' | undefined {
  const wanted = req.query.getAll('status').map((s) => s.toUpperCase());
  if (wanted.length === 0) return undefined;
  if (!wanted.some((s) => STATUSES.has(s))) {
    if (req.microversion.atLeast('2.38')) throw new BadRequest('Invalid status value');
    return 'empty';
  }
  return (i) => wanted.includes(statusOf(i.vm_state, i.task_state));
}

/** Nova's bool_from_string(strict=True), as common.is_locked reads `locked`. */
function strictBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(v)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(v)) return false;
  throw new BadRequest(
    `Invalid input received: Unrecognized value '${value}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`,
  );
}

/** A datetime column as Nova's database compares it with a regex ("2024-01-31 12:00:00"). */
const dbTime = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : '');

/** Columns Nova matches exactly (its exact_match_filter_names), each with the instance's value. */
const EXACT: Record<string, (i: Instance) => string | null> = {
  user_id: (i) => i.user_id,
  vm_state: (i) => i.vm_state,
  task_state: (i) => i.task_state,
  uuid: (i) => i.id,
  image_ref: (i) => i.image_ref,
};

/** Columns Nova matches by regular expression (its _regex_instance_filter), as the column's text. */
const REGEX: Record<string, (i: Instance) => string> = {
  display_name: (i) => i.name,
  hostname: (i) => i.hostname,
  key_name: (i) => i.key_name ?? '',
  availability_zone: (i) => i.availability_zone ?? '',
  config_drive: (i) => (i.config_drive ? 'True' : ''),
  created_at: (i) => dbTime(i.created_at),
  launched_at: (i) => dbTime(i.launched_at),
  terminated_at: () => '',
  power_state: (i) => String(i.power_state),
  progress: () => '0',
  description: (i) => i.description ?? '',
  display_description: (i) => i.description ?? '',
  node: (i) => i.host ?? '',
  launch_index: (i) => String(i.launch_index),
  access_ip_v4: (i) => i.access_ip_v4,
  access_ip_v6: (i) => i.access_ip_v6,
  root_device_name: (i) => (i.host ? '/dev/vda' : ''),
  kernel_id: () => '',
  ramdisk_id: () => '',
};

function regexOf(field: string, pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw new BadRequest(`Invalid regular expression for ${field}: ${pattern}`);
  }
}

/** The column filters of this query the caller may use, as one predicate (undefined when none). */
export function columnFilterOf(req: ApiRequest): ((i: Instance) => boolean) | undefined {
  const tests: ((i: Instance) => boolean)[] = [];
  for (const [name, valueOf] of Object.entries(EXACT)) {
    const wanted = req.query.getAll(name);
    if (wanted.length && mayFilterOn(req, name)) tests.push((i) => wanted.includes(valueOf(i) ?? ''));
  }
  for (const [name, valueOf] of Object.entries(REGEX)) {
    const pattern = req.query.get(name);
    if (pattern === null || !mayFilterOn(req, name)) continue;
    const re = regexOf(name, pattern);
    tests.push((i) => re.test(valueOf(i)));
  }
  const locked = req.query.get('locked');
  if (locked !== null && mayFilterOn(req, 'locked')) {
    const want = strictBool(locked);
    tests.push((i) => i.locked === want);
  }
  return tests.length ? (i) => tests.every((t) => t(i)) : undefined;
}
