import { z } from 'zod';
import { HostInventorySchema } from '../domain/host.js';

/** Conductor queue: what host agents report. Every report names its host and when it was made. */
const report = { host: z.string(), at: z.string(), request_id: z.string().optional() };

export const RegisterReportSchema = z.object({ type: z.literal('register'), ...report, inventory: HostInventorySchema });

export const HeartbeatReportSchema = z.object({
  type: z.literal('heartbeat'),
  ...report,
  /** Guests the agent runs, with their power state, so the conductor can notice drift. */
  guests: z.array(z.object({ instance_id: z.string(), power_state: z.number().int() })).default([]),
});

export const SpawnedReportSchema = z.object({
  type: z.literal('spawned'),
  ...report,
  instance_id: z.string().uuid(),
  power_state: z.number().int(),
  addresses: z.record(z.string(), z.array(z.object({ addr: z.string(), version: z.union([z.literal(4), z.literal(6)]), mac_addr: z.string() }))).default({}),
});

export const SpawnFailedReportSchema = z.object({
  type: z.literal('spawn_failed'),
  ...report,
  instance_id: z.string().uuid(),
  reason: z.string(),
});

export const DestroyedReportSchema = z.object({ type: z.literal('destroyed'), ...report, instance_id: z.string().uuid() });

export const ConductorMessageSchema = z.discriminatedUnion('type', [
  RegisterReportSchema,
  HeartbeatReportSchema,
  SpawnedReportSchema,
  SpawnFailedReportSchema,
  DestroyedReportSchema,
]);
export type ConductorMessage = z.infer<typeof ConductorMessageSchema>;
