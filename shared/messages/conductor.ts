import { z } from 'zod';
import { ConsoleProtocolSchema } from '../console/console-token.js';
import { HostInventorySchema } from '../domain/host.js';
import { InstanceActionName } from '../domain/instance-states.js';

/** Conductor queue: what host agents report. Every report names its host and when it was made. */
const report = { host: z.string(), at: z.string(), request_id: z.string().optional() };

export const RegisterReportSchema = z.object({ type: z.literal('register'), ...report, inventory: HostInventorySchema });

export const HeartbeatReportSchema = z.object({
  type: z.literal('heartbeat'),
  ...report,
  /** Guests the agent runs, with their power state, so the conductor can notice drift. */
  guests: z.array(z.object({ instance_id: z.string(), power_state: z.number().int() })).default([]),
  /** Guests the hypervisor runs that the agent never built or no longer knows: reported, never killed. */
  unknown_guests: z.array(z.string()).optional(),
  /** The host's `uptime` line (shown by os-hypervisors); absent from older agents. */
  uptime: z.string().max(255).optional(),
  /**
   * Figures of its running guests, for server diagnostics (host-agent/guest-diagnostics-sampler.ts).
   * Each is checked on its own against GuestDiagnosticsSchema: a malformed sample never costs the heartbeat.
   */
  diagnostics: z.array(z.unknown()).optional(),
});

/** When the host started the work a report ends (the start of the instance action's event). */
const startedAt = { started_at: z.string().optional() };

export const SpawnedReportSchema = z.object({
  type: z.literal('spawned'),
  ...report,
  ...startedAt,
  instance_id: z.string().uuid(),
  power_state: z.number().int(),
  addresses: z.record(z.string(), z.array(z.object({ addr: z.string(), version: z.union([z.literal(4), z.literal(6)]), mac_addr: z.string() }))).default({}),
});

export const SpawnFailedReportSchema = z.object({
  type: z.literal('spawn_failed'),
  ...report,
  ...startedAt,
  instance_id: z.string().uuid(),
  reason: z.string(),
});

export const DestroyedReportSchema = z.object({ type: z.literal('destroyed'), ...report, ...startedAt, instance_id: z.string().uuid() });

/** The actions a host carries out on a running guest and reports with action_done / action_failed. */
export const GuestActionSchema = z.enum([
  InstanceActionName.STOP,
  InstanceActionName.START,
  InstanceActionName.SOFT_DELETE,
  InstanceActionName.RESTORE,
  InstanceActionName.REBOOT,
  InstanceActionName.PAUSE,
  InstanceActionName.UNPAUSE,
  InstanceActionName.SUSPEND,
  InstanceActionName.RESUME,
  InstanceActionName.REBUILD,
  InstanceActionName.RESCUE,
  InstanceActionName.UNRESCUE,
  InstanceActionName.CREATE_IMAGE,
  InstanceActionName.CREATE_BACKUP,
  InstanceActionName.TRIGGER_CRASH_DUMP,
  InstanceActionName.SHELVE,
  InstanceActionName.UNSHELVE,
]);
export type GuestAction = z.infer<typeof GuestActionSchema>;

const actionReport = {
  ...report,
  request_id: z.string(),
  instance_id: z.string().uuid(),
  action: GuestActionSchema,
  started_at: z.string(),
};

/** The snapshot's bytes are uploaded: what the conductor needs to complete the upload and activate the image. */
export const SnapshotUploadSchema = z.object({
  parts: z.array(z.object({ part_number: z.number().int().positive(), etag: z.string() })).min(1),
  disk_format: z.enum(['qcow2', 'raw']),
  size: z.number().int().nonnegative(),
  virtual_size: z.number().int().nonnegative().nullable(),
  /** md5 hex, Glance's `checksum`. */
  checksum: z.string(),
  /** sha512 hex, Glance's `os_hash_value`. */
  os_hash_value: z.string(),
});
export type SnapshotUpload = z.infer<typeof SnapshotUploadSchema>;

/** The host did what the action asked; `power_state` is the guest's afterwards. */
export const ActionDoneReportSchema = z.object({
  type: z.literal('action_done'),
  ...actionReport,
  power_state: z.number().int(),
  /** Only for createImage. */
  snapshot: SnapshotUploadSchema.optional(),
});

/** The host could not do it; `power_state` is the guest's afterwards (NOSTATE when it is gone). */
export const ActionFailedReportSchema = z.object({
  type: z.literal('action_failed'),
  ...actionReport,
  power_state: z.number().int(),
  reason: z.string(),
});

/** The host applied a network plan: these ports of its plan are plugged (Neutron's update_device_up). */
export const PortsPluggedReportSchema = z.object({ type: z.literal('ports_plugged'), ...report, port_ids: z.array(z.string().uuid()) });

/** The agent started (or lost track): it asks for its network plan (Neutron's agent resync). */
export const NetworkSyncRequestSchema = z.object({ type: z.literal('network_sync_request'), ...report });

/**
 * A console session on the host's proxy, from its token's claims: who opened it (the token's
 * user, project and `request_id`, the request that asked for the URL), when, and until when the
 * token is valid (its `jti` counts as used until then).
 */
const consoleSession = {
  ...report,
  instance_id: z.string().uuid(),
  jti: z.string().uuid(),
  protocol: ConsoleProtocolSchema,
  user_id: z.string(),
  project_id: z.string(),
  /** The token's `exp`, in seconds since the epoch. */
  token_expires_at: z.number().int(),
  opened_at: z.string(),
};

/** The proxy accepted a console token: the session is open and the token used. */
export const ConsoleOpenedReportSchema = z.object({ type: z.literal('console_opened'), ...consoleSession });

/** A console session ended (reported on its own: it may arrive before its console_opened). */
export const ConsoleClosedReportSchema = z.object({
  type: z.literal('console_closed'),
  ...consoleSession,
  closed_at: z.string(),
  /** Who ended it: `client`, `guest` (QEMU closed the socket: stopped, deleted), or an error. */
  ended_by: z.string(),
  bytes_to_client: z.number().int().nonnegative(),
  bytes_from_client: z.number().int().nonnegative(),
});

/**
 * Not a host's report: the control plane's own second look at some hosts' plans a few seconds
 * after a change, once DynamoDB's list indexes (eventually consistent) have caught up with it.
 */
export const NetworkResyncSchema = z.object({ type: z.literal('network_resync'), hosts: z.array(z.string()).min(1), request_id: z.string() });

/**
 * A step of a move done on this host (or failed): `disk_ready` (source, resize_instance),
 * `finished` (destination, finish_resize), `confirmed` (source), `dest_reverted` (destination,
 * revert_resize), `reverted` (source, finish_revert_resize), `failed` (any, with the reason).
 */
export const MigrationReportSchema = z.object({
  type: z.literal('migration'),
  ...report,
  ...startedAt,
  request_id: z.string(),
  instance_id: z.string().uuid(),
  migration_id: z.string().uuid(),
  step: z.enum(['disk_ready', 'finished', 'confirmed', 'dest_reverted', 'reverted', 'failed']),
  /** For failed: the command that failed. */
  command: z.string().optional(),
  power_state: z.number().int(),
  reason: z.string().optional(),
});

export const ConductorMessageSchema = z.discriminatedUnion('type', [
  RegisterReportSchema,
  HeartbeatReportSchema,
  SpawnedReportSchema,
  SpawnFailedReportSchema,
  DestroyedReportSchema,
  ActionDoneReportSchema,
  ActionFailedReportSchema,
  PortsPluggedReportSchema,
  NetworkSyncRequestSchema,
  NetworkResyncSchema,
  ConsoleOpenedReportSchema,
  ConsoleClosedReportSchema,
  MigrationReportSchema,
]);
export type ConductorMessage = z.infer<typeof ConductorMessageSchema>;
