import { z } from 'zod';

/**
 * Runtime settings of the control-plane functions, from the environment that the CDK stack
 * (or the local runtime) sets. Validated once, at first use.
 */
const ConfigSchema = z.object({
  TABLE_NAME: z.string().min(1),
  SCHEDULER_QUEUE_URL: z.string().url(),
  CONDUCTOR_QUEUE_URL: z.string().url(),
  IMAGE_BUCKET: z.string().min(1),
  /** Base URL the catalog advertises, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod */
  PUBLIC_ENDPOINT: z.string().url().optional(),
  /** Token signing key: a file locally, or the name of an SSM SecureString parameter in AWS. */
  TOKEN_KEY_FILE: z.string().optional(),
  TOKEN_KEY_PARAMETER: z.string().optional(),
  /** Console token signing key (Ed25519, PKCS#8 PEM): a file locally, or an SSM SecureString parameter in AWS. */
  CONSOLE_KEY_FILE: z.string().optional(),
  CONSOLE_KEY_PARAMETER: z.string().optional(),
  /** How long a console URL stays valid, in seconds (Nova's [consoleauth] token_ttl). */
  CONSOLE_TOKEN_TTL: z.coerce.number().int().positive().default(600),
  REGION_NAME: z.string().default('RegionOne'),
  DEFAULT_AVAILABILITY_ZONE: z.string().default('nova'),
  /** Seconds without a heartbeat before a compute service is reported down (Nova: service_down_time). */
  SERVICE_DOWN_TIME: z.coerce.number().int().positive().default(60),
  /**
   * Seconds a deleted server is kept, powered off and restorable, before it is deleted for good
   * (Nova's reclaim_instance_interval); 0, the default, deletes at once.
   */
  RECLAIM_INSTANCE_INTERVAL: z.coerce.number().int().nonnegative().default(0),
  /** Seconds a resized server waits in VERIFY_RESIZE before the sweeper confirms it (Nova's resize_confirm_window); 0, the default, never. */
  RESIZE_CONFIRM_WINDOW: z.coerce.number().int().nonnegative().default(0),
  /** Whether a resize may place the server on its own host again (Nova's allow_resize_to_same_host); off by default, as in Nova. */
  ALLOW_RESIZE_TO_SAME_HOST: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  /**
   * Seconds a shelved server keeps its host before it is offloaded (Nova's shelved_offload_time):
   * 0, the default, offloads at once; -1 never (only shelveOffload does).
   */
  SHELVED_OFFLOAD_TIME: z.coerce.number().int().min(-1).default(0),
});

export type Config = z.infer<typeof ConfigSchema>;

let cached: Config | undefined;

export function config(): Config {
  cached ??= ConfigSchema.parse(process.env);
  return cached;
}

/** For tests and the local runtime, which set the environment after import. */
export function resetConfig(): void {
  cached = undefined;
}
