import { z } from 'zod';

/** How long an issued token lives: TOKEN_TTL_SECONDS, one hour by default (keystone's default). */
export const tokenTtlSeconds = () => z.coerce.number().int().positive().default(3600).parse(process.env.TOKEN_TTL_SECONDS);
