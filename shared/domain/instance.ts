import { z } from 'zod';
import type { Image } from './image.js';
import { VmState, TaskState } from './instance-states.js';

export const FlavorSnapshotSchema = z.object({
  id: z.string(),
  name: z.string(),
  vcpus: z.number().int(),
  ram: z.number().int(),
  disk: z.number().int(),
  ephemeral: z.number().int().default(0),
  swap: z.number().int().default(0),
  extra_specs: z.record(z.string(), z.string()).default({}),
});
export type FlavorSnapshot = z.infer<typeof FlavorSnapshotSchema>;

export const FaultSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  details: z.string().optional(),
  created: z.string(),
});
export type Fault = z.infer<typeof FaultSchema>;

export const AddressSchema = z.object({
  addr: z.string(),
  version: z.union([z.literal(4), z.literal(6)]),
  type: z.enum(['fixed', 'floating']).default('fixed'),
  mac_addr: z.string(),
});

/** What the host needs to know of the image an instance boots from (Nova's instance.image_meta). */
export const ImageMetaSchema = z.object({
  id: z.string(),
  disk_format: z.string().nullable(),
  size: z.number().int().nullable(),
  virtual_size: z.number().int().nullable().default(null),
  os_hash_algo: z.string().nullable(),
  os_hash_value: z.string().nullable(),
  /** The image properties the scheduler reads (ImagePropertiesFilter). */
  properties: z.record(z.string(), z.string()).optional(),
});
export type ImageMeta = z.infer<typeof ImageMetaSchema>;

/** Image properties that say where an image can run: Nova's ImagePropertiesFilter reads them (old and new names). */
export const PLACEMENT_IMAGE_PROPERTIES = ['architecture', 'hw_architecture', 'hypervisor_type', 'img_hv_type', 'vm_mode', 'hw_vm_mode'];

export function imageMetaOf(image: Image): ImageMeta {
  const { id, disk_format, size, virtual_size, os_hash_algo, os_hash_value } = image;
  const properties = Object.fromEntries(Object.entries(image.properties).filter(([k]) => PLACEMENT_IMAGE_PROPERTIES.includes(k)));
  return { id, disk_format, size, virtual_size, os_hash_algo, os_hash_value, properties };
}

/**
 * A move in progress. Its quota holds the larger of both flavors until it ends; its claims are
 * the instance's own (`claimed_host`, for `flavor`) and `other_claim`: the destination's (new
 * flavor) until the guest moved, then the source's (old flavor) until a confirm or revert.
 */
export const MoveSchema = z.object({
  migration_id: z.string().uuid(),
  old_flavor: FlavorSnapshotSchema,
  new_flavor: FlavorSnapshotSchema,
  source_host: z.string(),
  dest_host: z.string().nullable(),
  other_claim: z.object({ host: z.string(), flavor: FlavorSnapshotSchema }).nullable(),
  /** Whether the guest runs on the destination (VERIFY_RESIZE and after): the claims have changed sides. */
  on_dest: z.boolean().default(false),
  /** active or stopped: what a revert or a rollback returns the server to. */
  old_vm_state: z.enum([VmState.ACTIVE, VmState.STOPPED]),
});
export type Move = z.infer<typeof MoveSchema>;

/** An instance as stored (the table item without its keys). */
export const InstanceSchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  /** Free text set by the user (microversion 2.19); null when never set. */
  description: z.string().nullable().default(null),
  /** Server tags (microversion 2.26): at most 50, each 1–60 characters without ',' or '/'. */
  tags: z.array(z.string()).default([]),
  hostname: z.string(),
  project_id: z.string(),
  user_id: z.string(),
  image_ref: z.string(),
  image_meta: ImageMetaSchema,
  flavor: FlavorSnapshotSchema,
  key_name: z.string().nullable().default(null),
  key_data: z.string().nullable().default(null),
  metadata: z.record(z.string(), z.string()).default({}),
  user_data: z.string().nullable().default(null),
  config_drive: z.boolean().default(false),
  availability_zone: z.string().nullable().default(null),
  /** What the user asked for in `networks`: 'auto', 'none', or network ids. */
  requested_networks: z.union([z.literal('auto'), z.literal('none'), z.array(z.string())]).default('auto'),
  /** Nova's network info cache: rebuilt from the server's ports whenever they or their floating IPs change. */
  addresses: z.record(z.string(), z.array(AddressSchema)).default({}),
  /** The `same_host` and `different_host` scheduler hints it was booted with (server ids). */
  scheduler_hints: z.object({ same_host: z.array(z.string()).optional(), different_host: z.array(z.string()).optional() }).default({}),
  /** The host an admin forced it onto (`availability_zone` `zone:host`): the scheduler's filters are skipped. */
  forced_host: z.string().nullable().default(null),
  /** Nova's accessIPv4 / accessIPv6: addresses the user records for the server ('' when none). */
  access_ip_v4: z.string().default(''),
  access_ip_v6: z.string().default(''),
  /** The server group it joined at boot (the `group` scheduler hint). */
  server_group_id: z.string().nullable().default(null),
  /** The device tags a boot gave its NICs (microversion 2.32), by port id; the metadata's `devices` show them. */
  device_tags: z.record(z.string(), z.string()).default({}),
  /** The names of the security groups its ports got at boot, as the server view shows them. */
  security_groups: z.array(z.string()).default(['default']),
  vm_state: z.enum(Object.values(VmState) as [VmState, ...VmState[]]),
  task_state: z.enum(Object.values(TaskState) as [TaskState, ...TaskState[]]).nullable(),
  power_state: z.number().int().default(0),
  host: z.string().nullable().default(null),
  /** The host whose resources this instance holds a claim on (released exactly once). */
  claimed_host: z.string().nullable().default(null),
  launch_index: z.number().int().default(0),
  reservation_id: z.string(),
  locked: z.boolean().default(false),
  // The fields below are optional (absent on records written before them): read them with `?? null` / `?? {}`.
  /** Why it was locked (microversion 2.73); null when unlocked or no reason was given. */
  locked_reason: z.string().nullish(),
  /** The certificate ids a boot or rebuild asked the image to be verified with (2.63); null when none. */
  trusted_image_certificates: z.array(z.string()).nullish(),
  /** Every scheduler hint the boot gave, each value as a list (Nova's RequestSpec.scheduler_hints, shown from 2.100). */
  requested_scheduler_hints: z.record(z.string(), z.array(z.unknown())).optional(),
  /** The zone the boot asked for (Nova's RequestSpec.availability_zone, shown from 2.96 as pinned_availability_zone). */
  pinned_availability_zone: z.string().nullish(),
  /** The standard image properties of the image it runs (Nova's image_* system metadata, shown from 2.98). */
  image_properties: z.record(z.string(), z.string()).optional(),
  /** An admin's requested destination (2.74 `host` / `hypervisor_hostname`): the filters still run, on that host only. */
  requested_host: z.string().nullish(),
  fault: FaultSchema.nullable().default(null),
  /**
   * Set while it is shelved (Nova's shelved_image_id / shelved_at / shelved_host system metadata):
   * the image its disk went to, which an unshelve spawns from and then deletes.
   */
  shelved: z
    .object({
      image_id: z.string(),
      image_meta: ImageMetaSchema,
      at: z.string(),
      host: z.string(),
      /** When the unshelve under way was asked for: the host's records of the guest's earlier life (its offload) are older. */
      unshelving_since: z.string().nullish(),
    })
    .nullish(),
  /** Hosts that failed to spawn it, so a reschedule goes elsewhere. */
  attempted_hosts: z.array(z.string()).default([]),
  /** When the current task must be done by (ISO time); null while no task runs. */
  task_deadline: z.string().nullable().default(null),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  launched_at: z.string().nullable().default(null),
  /** Set by a soft delete (reclaim_instance_interval), cleared by a restore; the time of a delete on a deleted server's record. */
  deleted_at: z.string().nullish(),
  /** When a soft-deleted instance is deleted for good (deleted_at + the interval the API had then). */
  reclaim_at: z.string().nullish(),
  /** The move (resize or cold migration) under way, from the request to its confirm, revert or rollback; absent otherwise. */
  move: MoveSchema.nullish(),
});
export type Instance = z.infer<typeof InstanceSchema>;
