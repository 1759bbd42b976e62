import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { hostname } from 'node:os';
import { z } from 'zod';
import { HostInventorySchema } from '../shared/domain/host.js';

/**
 * The host agent's settings: a JSON file (snake_case keys as below), overridden by
 * HOST_AGENT_* environment variables, overridden by command-line flags. The AWS endpoint and
 * credentials come from the AWS SDK's own variables (AWS_ENDPOINT_URL, AWS_REGION, ...).
 */
export const AgentConfigSchema = z.strictObject({
  /** Nova's `host`: the compute host name, also the name of its queue. */
  host: HostInventorySchema.shape.host.prefault(() => hostname()),
  availability_zone: z.string().min(1).default('nova'),
  /** The address the control plane and consoles reach this host on. */
  host_ip: z.string().min(1).default('127.0.0.1'),
  /** Nova's compute_driver: qemu where qemu-system-x86_64 is installed, fake otherwise (and for tests and benchmarks). */
  driver: z.enum(['qemu', 'fake'], { error: 'driver must be "qemu" or "fake"' }).default(() => (qemuInstalled() ? 'qemu' : 'fake')),
  /** The S3 bucket the images are in (the control plane's IMAGE_BUCKET); the qemu driver needs it. */
  image_bucket: z.string().min(1).optional(),
  /** The qemu driver's settings. */
  qemu: z
    .strictObject({
      /** Nova's [libvirt] virt_type: kvm or qemu (TCG); unset = kvm where it really works (see drivers/qemu/kvm-detect.ts). */
      virt_type: z.enum(['kvm', 'qemu']).optional(),
      /** How long a soft reboot waits for the guest to shut down before resetting it (Nova's wait_soft_reboot_seconds). */
      soft_reboot_timeout_seconds: z.number().int().positive().default(120),
    })
    .prefault({}),
  /** The guests' networks on this host (host-agent/network/). */
  network: z
    .strictObject({
      /** A network namespace for the data plane and the QEMU processes (a local cloud's simulated host); unset = the host's own. */
      netns: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/).optional(),
      /** This host's VXLAN endpoint on the data-centre network (Neutron's local_ip); unset = host_ip. */
      tunnel_ip: z.ipv4().optional(),
      /** The interface VXLAN leaves by; unset = routed by the kernel. */
      underlay_dev: z.string().min(1).max(15).optional(),
      /** The bridge on the external network's segment (Neutron's bridge_mappings for `public`); unset = no router gateways here. */
      external_bridge: z.string().min(1).max(15).optional(),
    })
    .prefault({}),
  /** The capacity the fake driver offers, and how long its spawns take. */
  fake: z
    .strictObject({
      vcpus: z.number().int().positive().default(16),
      memory_mb: z.number().int().positive().default(32768),
      disk_gb: z.number().int().positive().default(500),
      spawn_delay_ms: z.number().int().nonnegative().default(0),
    })
    .prefault({}),
  /** Per-host allocation ratios; unset ones take the cloud's defaults (cpu 4.0, ram 1.0, disk 1.0). */
  allocation_ratios: z
    .strictObject({
      cpu: z.number().positive().optional(),
      ram: z.number().positive().optional(),
      disk: z.number().positive().optional(),
    })
    .prefault({}),
  /** The console proxy (host-agent/console/): noVNC and the serial console over TLS websockets. */
  console: z
    .strictObject({
      /** The public key that verifies console tokens (SPKI PEM); unset = no console proxy on this host. */
      public_key_file: z.string().min(1).optional(),
      /** The address browsers reach the proxy on, registered with the control plane; unset = https://<host_ip>:<port>. */
      url: z.url({ protocol: /^https$/, error: 'console.url must be an https:// URL' }).optional(),
      listen_address: z.string().min(1).default('0.0.0.0'),
      port: z.number().int().min(1).max(65535).default(6080),
      /** The TLS certificate chain and key (PEM); unset = a self-signed pair made at first start in the state dir. */
      cert_file: z.string().min(1).optional(),
      key_file: z.string().min(1).optional(),
    })
    .prefault({}),
  conductor_queue_url: z.url(),
  /** Where the agent keeps its local state (and, with QEMU, its guests' disks). */
  state_dir: z.string().min(1).default('/var/lib/novaless/host-agent'),
  heartbeat_interval_seconds: z.number().positive().default(10),
  /** How often a running guest's diagnostics ride along with a heartbeat (each one is a table write); 0 = every heartbeat. */
  diagnostics_interval_seconds: z.number().min(0).default(30),
  /** Nova's max_concurrent_builds. */
  max_parallel_builds: z.number().int().positive().default(10),
  /** Nova's max_concurrent_snapshots. */
  max_parallel_snapshots: z.number().int().positive().default(5),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** The settings that flags (`--memory-mb`) and environment variables (HOST_AGENT_MEMORY_MB) override. */
export const CONFIG_OVERRIDES = [
  { flag: 'host', path: ['host'], kind: 'string' },
  { flag: 'az', path: ['availability_zone'], kind: 'string' },
  { flag: 'host-ip', path: ['host_ip'], kind: 'string' },
  { flag: 'driver', path: ['driver'], kind: 'string' },
  { flag: 'vcpus', path: ['fake', 'vcpus'], kind: 'number' },
  { flag: 'memory-mb', path: ['fake', 'memory_mb'], kind: 'number' },
  { flag: 'disk-gb', path: ['fake', 'disk_gb'], kind: 'number' },
  { flag: 'spawn-delay-ms', path: ['fake', 'spawn_delay_ms'], kind: 'number' },
  { flag: 'cpu-allocation-ratio', path: ['allocation_ratios', 'cpu'], kind: 'number' },
  { flag: 'conductor-queue-url', path: ['conductor_queue_url'], kind: 'string' },
  { flag: 'state-dir', path: ['state_dir'], kind: 'string' },
  { flag: 'heartbeat-interval-seconds', path: ['heartbeat_interval_seconds'], kind: 'number' },
  { flag: 'diagnostics-interval-seconds', path: ['diagnostics_interval_seconds'], kind: 'number' },
  { flag: 'max-parallel-builds', path: ['max_parallel_builds'], kind: 'number' },
  { flag: 'max-parallel-snapshots', path: ['max_parallel_snapshots'], kind: 'number' },
  { flag: 'image-bucket', path: ['image_bucket'], kind: 'string' },
  { flag: 'virt-type', path: ['qemu', 'virt_type'], kind: 'string' },
  { flag: 'netns', path: ['network', 'netns'], kind: 'string' },
  { flag: 'tunnel-ip', path: ['network', 'tunnel_ip'], kind: 'string' },
  { flag: 'underlay-dev', path: ['network', 'underlay_dev'], kind: 'string' },
  { flag: 'external-bridge', path: ['network', 'external_bridge'], kind: 'string' },
  { flag: 'console-public-key-file', path: ['console', 'public_key_file'], kind: 'string' },
  { flag: 'console-url', path: ['console', 'url'], kind: 'string' },
  { flag: 'console-listen-address', path: ['console', 'listen_address'], kind: 'string' },
  { flag: 'console-port', path: ['console', 'port'], kind: 'number' },
  { flag: 'console-cert-file', path: ['console', 'cert_file'], kind: 'string' },
  { flag: 'console-key-file', path: ['console', 'key_file'], kind: 'string' },
] as const;

/** Whether `command` is an executable in one of PATH's directories. */
export function onPath(command: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether qemu-system-x86_64 is an executable on PATH. */
export const qemuInstalled = (path?: string): boolean => onPath('qemu-system-x86_64', path);

export const envVarOf = (flag: string) => `HOST_AGENT_${flag.toUpperCase().replace(/-/g, '_')}`;

export interface ConfigSources {
  /** Path of the JSON config file, if any. */
  file?: string;
  /** Flag name (without dashes) → value, as node:util parseArgs gives them. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
}

export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

export async function loadAgentConfig({ file, flags = {}, env = {} }: ConfigSources): Promise<AgentConfig> {
  const merged: Record<string, unknown> = file ? await readConfigFile(file) : {};
  // The control plane's own name for the conductor queue works too (the local runtime sets it).
  if (env.CONDUCTOR_QUEUE_URL) setPath(merged, ['conductor_queue_url'], env.CONDUCTOR_QUEUE_URL);
  for (const override of CONFIG_OVERRIDES) {
    const value = env[envVarOf(override.flag)];
    if (value !== undefined && value !== '') setPath(merged, override.path, convert(value, override.kind));
  }
  for (const override of CONFIG_OVERRIDES) {
    const value = flags[override.flag];
    if (value !== undefined) setPath(merged, override.path, convert(value, override.kind));
  }
  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) throw new AgentConfigError(`invalid host agent configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AgentConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AgentConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new AgentConfigError(`config file ${file} must hold a JSON object`);
  return json as Record<string, unknown>;
}

/** Numbers from flags stay strings when they are not numbers, so the schema names the field. */
function convert(value: string, kind: 'string' | 'number'): unknown {
  if (kind === 'string') return value;
  const number = Number(value);
  return value.trim() !== '' && Number.isFinite(number) ? number : value;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}
