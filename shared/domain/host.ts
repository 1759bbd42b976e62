import { z } from 'zod';

/** What a host agent reports about itself when it registers (and again when its inventory changes). */
export const HostInventorySchema = z.object({
  host: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/),
  availability_zone: z.string().min(1).default('nova'),
  vcpus: z.number().int().positive(),
  memory_mb: z.number().int().positive(),
  disk_gb: z.number().int().positive(),
  hypervisor_type: z.string().default('QEMU'),
  hypervisor_version: z.number().int().default(0),
  /** Nova's virt_type: kvm where KVM really works, qemu (TCG) otherwise, fake for the fake driver. */
  virt_type: z.string().default('qemu'),
  /** The CPU architecture its guests run on (Nova's names: x86_64, aarch64, ...); absent = x86_64. */
  architecture: z.string().optional(),
  host_ip: z.string().default('127.0.0.1'),
  /** The host's VXLAN tunnel endpoint on the data-centre network (Neutron's local_ip); defaults to host_ip. */
  tunnel_ip: z.string().optional(),
  /** Where this host's console proxy is reached (Nova's novncproxy_base_url / serial base_url, per host); none = no consoles here. */
  console_url: z.url({ protocol: /^https?$/ }).optional(),
  cpu_allocation_ratio: z.number().positive().optional(),
  ram_allocation_ratio: z.number().positive().optional(),
  disk_allocation_ratio: z.number().positive().optional(),
});
export type HostInventory = z.infer<typeof HostInventorySchema>;

/** Current Nova defaults (older Nova used 16.0 and 1.5). */
export const DEFAULT_ALLOCATION_RATIOS = { cpu: 4.0, ram: 1.0, disk: 1.0 } as const;

/** A compute host as stored: inventory, usage, service status and liveness. */
export const HostSchema = z.object({
  id: z.string(),
  host: z.string(),
  availability_zone: z.string(),
  vcpus: z.number().int(),
  memory_mb: z.number().int(),
  disk_gb: z.number().int(),
  cpu_allocation_ratio: z.number(),
  ram_allocation_ratio: z.number(),
  disk_allocation_ratio: z.number(),
  /** Capacity after ratios; the claim's conditional write compares usage against these. */
  vcpus_limit: z.number().int(),
  memory_mb_limit: z.number().int(),
  disk_gb_limit: z.number().int(),
  used_vcpus: z.number().int(),
  used_memory_mb: z.number().int(),
  used_disk_gb: z.number().int(),
  running_vms: z.number().int(),
  hypervisor_type: z.string(),
  hypervisor_version: z.number().int(),
  virt_type: z.string(),
  architecture: z.string().optional(),
  host_ip: z.string(),
  tunnel_ip: z.string().optional(),
  console_url: z.string().nullable().optional(),
  status: z.enum(['enabled', 'disabled']),
  disabled_reason: z.string().nullable(),
  forced_down: z.boolean().default(false),
  /** The zone an aggregate with an availability_zone gives the host; it wins over the registered one. */
  aggregate_zone: z.string().nullable().default(null),
  last_heartbeat: z.string(),
  /** The host's `uptime` line as its agent last reported it (Nova's get_host_uptime); absent until it does. */
  uptime: z.string().nullable().optional(),
  queue_url: z.string(),
  service_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Host = z.infer<typeof HostSchema>;

export function isHostUp(host: Pick<Host, 'last_heartbeat' | 'forced_down'>, downAfterSeconds: number, now = Date.now()): boolean {
  return !host.forced_down && now - Date.parse(host.last_heartbeat) <= downAfterSeconds * 1000;
}

/** The availability zone a host is in: its aggregates' if they give it one, otherwise the one it registered with. */
export const zoneOf = (h: Pick<Host, 'availability_zone' | 'aggregate_zone'>) => h.aggregate_zone ?? h.availability_zone;
