import { z } from 'zod';

/** Scheduler queue: place one instance on a host (one message per instance of a multi-create). */
export const BuildRequestSchema = z.object({
  type: z.literal('build'),
  request_id: z.string(),
  instance_id: z.string().uuid(),
});

export const SchedulerMessageSchema = z.discriminatedUnion('type', [BuildRequestSchema]);
export type SchedulerMessage = z.infer<typeof SchedulerMessageSchema>;
