import type { z } from 'zod';

/** Parses a queue message body against its contract; undefined when it is not JSON or does not match. */
export function parseMessage<S extends z.ZodType>(schema: S, body: string): z.infer<S> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(data);
  return result.success ? result.data : undefined;
}
