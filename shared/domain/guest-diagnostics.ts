import { z } from 'zod';

const counter = z.number().int().min(0);
/** A per-second rate or a percentage computed from two samples; null for a guest's first sample. */
const rate = z.number().int().min(0).nullable();

/**
 * One sample of a running guest's figures, as its host agent takes it at a heartbeat (QMP and
 * /proc for QEMU guests, the fake driver's bookkeeping for fake ones) and the conductor stores
 * it: what `GET /servers/{id}/diagnostics` answers from, in Nova's libvirt names and units.
 */
export const GuestDiagnosticsSchema = z.object({
  instance_id: z.string().uuid(),
  /** When the agent took the sample (ISO 8601): the API says how old the figures are. */
  sampled_at: z.string(),
  /** The agent's driver (qemu, fake). */
  driver: z.string(),
  /** Nova's virt_type: kvm, qemu (TCG) or fake. */
  hypervisor: z.string(),
  hypervisor_os: z.string(),
  power_state: z.number().int(),
  /** When the guest's current run began (its QEMU process started); uptime counts from it. */
  started_at: z.string().nullable(),
  config_drive: z.boolean(),
  memory: z.object({
    /** The guest's RAM (libvirt's maxMemory), KiB. */
    maximum_kib: counter,
    /** What the balloon leaves the guest (libvirt's memory-actual), KiB. */
    actual_kib: counter,
    /** The QEMU process's resident memory (libvirt's memory-rss), KiB; null where there is no process. */
    rss_kib: counter.nullable(),
  }),
  cpus: z.array(z.object({ id: z.number().int().min(0), time_ns: counter, utilisation: rate })),
  /** Every disk the guest has, by its guest device name (vda, hda, ...). */
  disks: z.array(
    z.object({ device: z.string(), read_bytes: counter, read_requests: counter, write_bytes: counter, write_requests: counter, errors: z.number().int() }),
  ),
  /**
   * Counters as the guest sees them (a tap's rx is the guest's tx, so they are swapped, as libvirt
   * does); null where the tap could not be read.
   */
  nics: z.array(
    z.object({
      device: z.string(),
      mac_address: z.string(),
      rx_octets: counter.nullable(),
      rx_packets: counter.nullable(),
      rx_errors: counter.nullable(),
      rx_drop: counter.nullable(),
      rx_rate: rate,
      tx_octets: counter.nullable(),
      tx_packets: counter.nullable(),
      tx_errors: counter.nullable(),
      tx_drop: counter.nullable(),
      tx_rate: rate,
    }),
  ),
});
export type GuestDiagnostics = z.infer<typeof GuestDiagnosticsSchema>;

/** What a driver measures; the agent adds which guest, when, and the rates between two samples. */
export type DriverDiagnostics = Omit<GuestDiagnostics, 'instance_id' | 'sampled_at' | 'cpus' | 'nics'> & {
  cpus: Omit<GuestDiagnostics['cpus'][number], 'utilisation'>[];
  nics: Omit<GuestDiagnostics['nics'][number], 'rx_rate' | 'tx_rate'>[];
};
