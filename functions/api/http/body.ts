import { z } from 'zod';
import { BadRequest, UnsupportedMediaType } from '../../../shared/errors.js';
import type { ApiRequest } from './types.js';

/** Parses the request body as JSON and validates it, turning every failure into a 400. */
export function parseBody<S extends z.ZodType>(req: ApiRequest, schema: S): z.infer<S> {
  const type = req.headers['content-type'];
  if (type && !/json/i.test(type)) throw new UnsupportedMediaType(`Unsupported Content-Type ${type}`);
  let data: unknown;
  try {
    data = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw new BadRequest('Malformed request body');
  }
  return validate(schema, data);
}

export function validate<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new BadRequest(`Invalid input for field/attribute ${describeIssue(result.error.issues[0])}`);
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'body.';
  const path = issue.path.map(String).join('/') || 'body';
  return `${path}. Value: ${issue.message}`;
}

/** Query parameters validated with a schema (first value of each key). */
export function parseQuery<S extends z.ZodType>(req: ApiRequest, schema: S): z.infer<S> {
  const flat: Record<string, string> = {};
  for (const [k, v] of req.query) flat[k] ??= v;
  const result = schema.safeParse(flat);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BadRequest(`Invalid input for query parameters ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return result.data;
}

export const json = (status: number, body?: unknown, headers?: Record<string, string>) => ({ status, body, headers });
