import { GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { objects } from '../../../../shared/aws.js';
import { config } from '../../../../shared/config.js';
import { NotFound } from '../../../../shared/errors.js';
import { consoleObjectKey } from '../../../../shared/resources.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { loadInstance } from '../server-access.js';
import { checkHasHost } from './guest-task.js';
import type { ServerAction } from './server-action.js';

/** Nova's schema: an integer (or its string) of at least -1; -1 or none means the whole log. */
const ConsoleOutputSchema = z
  .strictObject({
    length: z
      .union([z.number().int().min(-1), z.string().regex(/^-?[0-9]+$/).transform(Number).pipe(z.number().int().min(-1))])
      .nullable()
      .optional(),
  })
  .nullable();

/** Control characters Nova strips from console output: everything below 0x20 except tab and newline. */
const CONTROL_CHARACTERS = /[\x00-\x08\x0B-\x1F]/g;

/**
 * The last `length` lines of a log (all of it for null/undefined/-1), cut exactly as Nova's
 * `_tail_log` cuts it: the last `length` pieces of `log.split('\n')`, so the empty piece after a
 * final newline counts as one (`length=3` of "a\nb\nc\n" is "b\nc\n"), as clients and tempest expect.
 */
export function lastLines(log: string, length: number | null | undefined): string {
  if (length === null || length === undefined || length < 0) return log;
  if (length === 0) return '';
  const lines = log.split('\n');
  return lines.slice(Math.max(0, lines.length - length)).join('\n');
}

/**
 * `os-getConsoleOutput`: 200 with the tail of the guest's serial console. The API cannot ask the
 * host synchronously; host agents publish each guest's console tail to the image bucket every
 * few seconds (host-agent/console-publisher.ts) and this reads it.
 */
async function getConsoleOutput(req: ApiRequest, body: unknown): Promise<ApiResponse> {
  const length = validate(ConsoleOutputSchema, body)?.length;
  const instance = await loadInstance(req);
  checkHasHost(instance);
  let log: string;
  try {
    const out = await objects().send(new GetObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: consoleObjectKey(instance.id) }));
    log = (await out.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (error instanceof NoSuchKey) throw new NotFound('Guest does not have a console available.');
    throw error;
  }
  return json(200, { output: lastLines(log, length).replace(CONTROL_CHARACTERS, '') });
}

export const consoleOutputActions: ServerAction[] = [{ name: 'os-getConsoleOutput', handle: getConsoleOutput }];
