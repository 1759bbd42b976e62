import { z } from 'zod';

/** A flavor as stored (the table item without its keys). Sizes are in Nova's units: MB for RAM and swap, GB for disks. */
export const FlavorSchema = z.object({
  id: z.string(),
  name: z.string(),
  vcpus: z.number().int(),
  ram: z.number().int(),
  disk: z.number().int(),
  ephemeral: z.number().int(),
  swap: z.number().int(),
  rxtx_factor: z.number(),
  is_public: z.boolean(),
  disabled: z.boolean(),
  description: z.string().nullable(),
  extra_specs: z.record(z.string(), z.string()),
  created_at: z.string(),
});
export type Flavor = z.infer<typeof FlavorSchema>;

/** Nova's usual default flavors (as devstack and the API samples have them). */
export const DEFAULT_FLAVORS: ReadonlyArray<Pick<Flavor, 'id' | 'name' | 'vcpus' | 'ram' | 'disk'>> = [
  { id: '1', name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1 },
  { id: '2', name: 'm1.small', vcpus: 1, ram: 2048, disk: 20 },
  { id: '3', name: 'm1.medium', vcpus: 2, ram: 4096, disk: 40 },
  { id: '4', name: 'm1.large', vcpus: 4, ram: 8192, disk: 80 },
  { id: '5', name: 'm1.xlarge', vcpus: 8, ram: 16384, disk: 160 },
];
