import { z } from 'zod';

/** What a verified token says about its caller. The payload of every signed token. */
export const TokenContextSchema = z.object({
  /** Token id, for revocation. */
  id: z.string(),
  user_id: z.string(),
  user_name: z.string(),
  domain_id: z.string(),
  project_id: z.string(),
  project_name: z.string(),
  roles: z.array(z.object({ id: z.string(), name: z.string() })),
  methods: z.array(z.string()),
  issued_at: z.string(),
  expires_at: z.string(),
});
export type TokenContext = z.infer<typeof TokenContextSchema>;

/** Who a policy check is about: a token's project and roles (a verified token, or what the image upload front vouched for). */
export type Caller = Pick<TokenContext, 'project_id' | 'roles'>;

export const isAdmin = (ctx: Caller) => ctx.roles.some((r) => r.name === 'admin');
