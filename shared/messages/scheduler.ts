import { z } from 'zod';

/** Scheduler queue: place one instance on a host (one message per instance of a multi-create). */
export const BuildRequestSchema = z.object({
  type: z.literal('build'),
  request_id: z.string(),
  instance_id: z.string().uuid(),
});

/** Scheduler queue: place a move (resize, cold migration) of a server; its migration names the flavor and any requested host. */
export const MoveRequestSchema = z.object({
  type: z.literal('move'),
  request_id: z.string(),
  instance_id: z.string().uuid(),
  migration_id: z.string().uuid(),
});

export const SchedulerMessageSchema = z.discriminatedUnion('type', [BuildRequestSchema, MoveRequestSchema]);
export type SchedulerMessage = z.infer<typeof SchedulerMessageSchema>;
