import { BadRequest } from '../../../shared/errors.js';
import { listHosts } from '../../../shared/store/hosts.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

/**
 * `os-instance_usage_audit_log` (admin): the monthly per-host audit Nova's compute services run
 * when `instance_usage_audit` is on. Nothing runs it here, so every host is "not run" for the
 * period asked (the month before now, or before `before_timestamp`), as in a Nova cloud with
 * the audit off.
 */
function monthBefore(at: Date): { begin: Date; end: Date } {
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  return { begin: new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 1, 1)), end };
}

const novaTime = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');

async function auditLog(req: ApiRequest, before: Date): Promise<ApiResponse> {
  authorizeAdmin(req, 'os_compute_api:os-instance-usage-audit-log:list');
  const hosts = (await listHosts()).map((h) => h.host);
  const { begin, end } = monthBefore(before);
  return json(200, {
    [req.params.before_timestamp ? 'instance_usage_audit_log' : 'instance_usage_audit_logs']: {
      hosts_not_run: hosts,
      log: {},
      num_hosts: hosts.length,
      num_hosts_done: 0,
      num_hosts_not_run: hosts.length,
      num_hosts_running: 0,
      overall_status: `0 of ${hosts.length} hosts done. 0 errors.`,
      period_beginning: novaTime(begin),
      period_ending: novaTime(end),
      total_errors: 0,
      total_instances: 0,
    },
  });
}

async function index(req: ApiRequest): Promise<ApiResponse> {
  return auditLog(req, new Date());
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  // Nova's formats: '%Y-%m-%d %H:%M:%S' with or without fractions, in UTC.
  const text = req.params.before_timestamp;
  const at = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(text) ? new Date(`${text.replace(' ', 'T')}Z`) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw new BadRequest(`Invalid timestamp for date ${text}`);
  return auditLog(req, at);
}

export const instanceUsageAuditLogRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/os-instance_usage_audit_log', service: 'compute', handler: index },
  { method: 'GET', path: '/compute/v2.1/os-instance_usage_audit_log/{before_timestamp}', service: 'compute', handler: show },
];
