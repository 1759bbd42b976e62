import { z } from 'zod';
import { FlavorSnapshotSchema, ImageMetaSchema } from '../domain/instance.js';

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
});
export type GuestSpec = z.infer<typeof GuestSpecSchema>;

/** Host queue: commands for one host's agent. */
export const SpawnCommandSchema = z.object({
  type: z.literal('spawn'),
  request_id: z.string(),
  guest: GuestSpecSchema,
});

export const DestroyCommandSchema = z.object({
  type: z.literal('destroy'),
  request_id: z.string(),
  instance_id: z.string().uuid(),
});

export const HostCommandSchema = z.discriminatedUnion('type', [SpawnCommandSchema, DestroyCommandSchema]);
export type HostCommand = z.infer<typeof HostCommandSchema>;
