import { z } from 'zod';
import { FlavorSnapshotSchema, ImageMetaSchema } from '../domain/instance.js';
import { HostNetworkPlanSchema } from '../domain/network/host-plan.js';

/** One NIC of a guest: its port, plugged as a tap device (named as Nova names it) on the port's network. */
export const GuestNicSchema = z.object({
  port_id: z.string().uuid(),
  network_id: z.string().uuid(),
  mac_address: z.string(),
  mtu: z.number().int(),
  /** `tap` + the port id's first 11 characters (Nova's devname). */
  tap_name: z.string().max(15),
  /** The guest's fixed IPv4 addresses on it, with their subnets, for network_data.json. */
  fixed_ips: z.array(z.object({ ip_address: z.string(), cidr: z.string(), gateway_ip: z.string().nullable(), enable_dhcp: z.boolean(), dns_nameservers: z.array(z.string()).default([]) })),
  /** The device tag the boot gave it (2.32), for the metadata's `devices`. */
  tag: z.string().optional(),
});
export type GuestNic = z.infer<typeof GuestNicSchema>;

/** What the agent needs to build a guest: a copy of the instance, so it never reads the table. */
export const GuestSpecSchema = z.object({
  instance_id: z.string().uuid(),
  name: z.string(),
  hostname: z.string(),
  project_id: z.string(),
  image_id: z.string(),
  image: ImageMetaSchema,
  flavor: FlavorSnapshotSchema,
  key_name: z.string().nullable(),
  key_data: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  user_data: z.string().nullable(),
  config_drive: z.boolean(),
  availability_zone: z.string().nullable(),
  launch_index: z.number().int(),
  /** Its NICs, in order (eth0 first); none = a guest without network. */
  nics: z.array(GuestNicSchema).default([]),
});
export type GuestSpec = z.infer<typeof GuestSpecSchema>;

/** Host queue: commands for one host's agent. */
export const SpawnCommandSchema = z.object({
  type: z.literal('spawn'),
  request_id: z.string(),
  guest: GuestSpecSchema,
  /**
   * An unshelve's spawn: what the host remembers of the guest from before this time (its
   * offload's destroy, an earlier unshelve that failed here) belongs to its earlier life.
   */
  unshelving_since: z.string().optional(),
});

export const DestroyCommandSchema = z.object({
  type: z.literal('destroy'),
  request_id: z.string(),
  instance_id: z.string().uuid(),
});

/** Every guest action names its guest and the API request it comes from (its instance action). */
const guestAction = { request_id: z.string(), instance_id: z.string().uuid() };

/** ACPI power-down, forced off after timeout_sec (Nova's clean shutdown, shutdown_timeout). */
export const PowerOffCommandSchema = z.object({
  type: z.literal('power_off'),
  ...guestAction,
  timeout_sec: z.number().int().nonnegative(),
  /** The action the power-off is part of, as its report names it: a stop, or a soft delete. */
  action: z.enum(['stop', 'soft_delete']).optional(),
});
export const PowerOnCommandSchema = z.object({
  type: z.literal('power_on'),
  ...guestAction,
  /** A start, or the restore of a soft-deleted server. */
  action: z.enum(['start', 'restore', 'unshelve']).optional(),
});
export const RebootCommandSchema = z.object({ type: z.literal('reboot'), ...guestAction, reboot_type: z.enum(['SOFT', 'HARD']) });
export const PauseCommandSchema = z.object({ type: z.literal('pause'), ...guestAction });
export const UnpauseCommandSchema = z.object({ type: z.literal('unpause'), ...guestAction });
export const SuspendCommandSchema = z.object({ type: z.literal('suspend'), ...guestAction });
export const ResumeCommandSchema = z.object({ type: z.literal('resume'), ...guestAction });

/** Rebuild the guest from a new image (same instance, new root disk); powered on afterwards only if it ran before. */
export const RebuildCommandSchema = z
  .object({ type: z.literal('rebuild'), ...guestAction, guest: GuestSpecSchema, power_on: z.boolean() })
  .refine((c) => c.guest.instance_id === c.instance_id, 'guest.instance_id must be the instance_id');

/** Nova's rescue: the guest boots `rescue_image` with its own root disk attached as the second disk; unrescue boots the root disk again. */
export const RescueCommandSchema = z.object({
  type: z.literal('rescue'),
  ...guestAction,
  rescue_image: ImageMetaSchema,
  /** A running guest is asked to shut down first, and forced off after this (Nova's clean shutdown). */
  timeout_sec: z.number().int().nonnegative(),
});
export const UnrescueCommandSchema = z.object({ type: z.literal('unrescue'), ...guestAction });

/**
 * Snapshot the guest's disk into image `image_id`: the agent PUTs the image bytes, part by part
 * (`part_size` bytes each, the last one shorter), to the presigned part URLs, and reports the
 * ETags with the size and hashes. It never needs S3 credentials for this.
 */
export const SnapshotCommandSchema = z.object({
  type: z.literal('snapshot'),
  ...guestAction,
  image_id: z.string(),
  upload: z.object({ part_size: z.number().int().positive(), part_urls: z.array(z.string().url()).min(1) }),
  /** The action the snapshot is for, as its report names it. */
  action: z.enum(['createImage', 'createBackup']).optional(),
});

/**
 * Nova's shelve_instance: power the guest off (clean shutdown, forced after timeout_sec), then
 * snapshot its disk into image `image_id` and upload it as a snapshot command does.
 */
export const ShelveCommandSchema = z.object({
  type: z.literal('shelve'),
  ...guestAction,
  image_id: z.string(),
  upload: SnapshotCommandSchema.shape.upload,
  timeout_sec: z.number().int().nonnegative(),
});

/** Hot-plug a NIC (Nova's attach_interface): the port is bound to this host already; a stopped guest only keeps it for its next start. */
export const AttachInterfaceCommandSchema = z.object({ type: z.literal('attach_interface'), ...guestAction, nic: GuestNicSchema });
/** Hot-unplug the NIC of a port (Nova's detach_interface); a NIC the guest does not have is already detached. */
export const DetachInterfaceCommandSchema = z.object({ type: z.literal('detach_interface'), ...guestAction, port_id: z.string().uuid() });

/** Nova's trigger_crash_dump: an NMI into the guest, whose kernel decides what follows (kdump, a panic, a log line). */
export const TriggerCrashDumpCommandSchema = z.object({ type: z.literal('trigger_crash_dump'), ...guestAction });

/** The host's whole network plan (shared/network-plan/): applied only if newer than the last one applied. */
export const NetworkPlanCommandSchema = z.object({ type: z.literal('network_plan'), request_id: z.string(), plan: HostNetworkPlanSchema });

/**
 * A move between two agents (Nova's resize_instance, finish_resize, confirm_resize, revert_resize,
 * finish_revert_resize), each on one agent, chained by the conductor through their reports.
 */
const moveCommand = { ...guestAction, migration_id: z.string().uuid() };
/** Source: power the guest off and set its disk aside for the destination (kept until confirm or revert). */
export const ResizeInstanceCommandSchema = z.object({ type: z.literal('resize_instance'), ...moveCommand, new_flavor: FlavorSnapshotSchema, timeout_sec: z.number().int().nonnegative() });
/** Destination: build the guest from the source's disk with the new flavor, started when power_on. */
export const FinishResizeCommandSchema = z
  .object({ type: z.literal('finish_resize'), ...moveCommand, guest: GuestSpecSchema, source_host: z.string(), power_on: z.boolean() })
  .refine((c) => c.guest.instance_id === c.instance_id, 'guest.instance_id must be the instance_id');
/** Source: drop the copy kept since resize_instance. */
export const ConfirmResizeCommandSchema = z.object({ type: z.literal('confirm_resize'), ...moveCommand });
/** Destination: destroy the guest the move built here; `same_host` when it is the source too (its guest then is only destroyed while the kept copy is there). */
export const RevertResizeCommandSchema = z.object({ type: z.literal('revert_resize'), ...moveCommand, same_host: z.boolean() });
/** Source: bring the kept copy back as the guest (old flavor), started when power_on; a guest already back is left as it is. */
export const FinishRevertResizeCommandSchema = z
  .object({ type: z.literal('finish_revert_resize'), ...moveCommand, guest: GuestSpecSchema, power_on: z.boolean() })
  .refine((c) => c.guest.instance_id === c.instance_id, 'guest.instance_id must be the instance_id');

export const HostCommandSchema = z.discriminatedUnion('type', [
  SpawnCommandSchema,
  DestroyCommandSchema,
  PowerOffCommandSchema,
  PowerOnCommandSchema,
  RebootCommandSchema,
  PauseCommandSchema,
  UnpauseCommandSchema,
  SuspendCommandSchema,
  ResumeCommandSchema,
  RebuildCommandSchema,
  RescueCommandSchema,
  UnrescueCommandSchema,
  SnapshotCommandSchema,
  ShelveCommandSchema,
  AttachInterfaceCommandSchema,
  DetachInterfaceCommandSchema,
  TriggerCrashDumpCommandSchema,
  NetworkPlanCommandSchema,
  ResizeInstanceCommandSchema,
  FinishResizeCommandSchema,
  ConfirmResizeCommandSchema,
  RevertResizeCommandSchema,
  FinishRevertResizeCommandSchema,
]);
export type HostCommand = z.infer<typeof HostCommandSchema>;
