import { z } from 'zod';

/** A key pair as stored (the table item without its keys). The private key of a generated pair is never stored. */
export const KeypairSchema = z.object({
  name: z.string(),
  user_id: z.string(),
  /** Nova's keypair `type` (named so here because every table item's `type` is its item type). */
  key_type: z.enum(['ssh', 'x509']),
  public_key: z.string(),
  fingerprint: z.string(),
  created_at: z.string(),
});
export type Keypair = z.infer<typeof KeypairSchema>;
