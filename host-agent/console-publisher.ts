import type { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { consoleObjectKey } from '../shared/resources.js';
import type { ComputeDriver } from './drivers/driver.js';
import type { LocalState } from './local-state.js';

/** Nova's libvirt driver returns at most the last 100 KiB of a console log. */
export const CONSOLE_TAIL_BYTES = 100 * 1024;

export interface ConsolePublisherOptions {
  driver: ComputeDriver;
  state: LocalState;
  s3: S3Client;
  bucket: string;
  log: Logger;
  intervalMs: number;
}

/**
 * Publishes each built guest's console tail to `consoles/<instance id>.log` in the image bucket
 * whenever it changed, so `os-getConsoleOutput` can read it without calling the host (the API
 * cannot reach an agent synchronously). The host-agent IAM policy allows PutObject there only.
 */
export function startConsolePublisher(options: ConsolePublisherOptions): { stop(): Promise<void>; publishNow(): Promise<void> } {
  const published = new Map<string, string>();
  const stopping = new AbortController();
  const publishNow = () => publishChanged(options, published);
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await publishNow();
      await sleep(options.intervalMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();
  return {
    publishNow,
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

async function publishChanged({ driver, state, s3, bucket, log }: ConsolePublisherOptions, published: Map<string, string>): Promise<void> {
  const built = state.guests().filter((g) => g.phase === 'built');
  const current = new Set(built.map((g) => g.instance_id));
  for (const id of published.keys()) if (!current.has(id)) published.delete(id);
  for (const guest of built) {
    try {
      const tail = lastBytes(await driver.getConsoleOutput(guest.instance_id), CONSOLE_TAIL_BYTES);
      const digest = createHash('sha256').update(tail).digest('hex');
      if (published.get(guest.instance_id) === digest) continue;
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: consoleObjectKey(guest.instance_id), Body: tail, ContentType: 'text/plain; charset=utf-8' }),
      );
      published.set(guest.instance_id, digest);
    } catch (error) {
      // A guest destroyed meanwhile, or S3 unreachable: tried again next round.
      log.debug('could not publish console log', { instance_id: guest.instance_id, error: (error as Error).message });
    }
  }
}

/** The end of a text, at most maxBytes of its UTF-8 form, cut at a line start when one is near. */
export function lastBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const tail = bytes.subarray(bytes.length - maxBytes).toString('utf8');
  const newline = tail.indexOf('\n');
  return newline >= 0 && newline < 1024 ? tail.slice(newline + 1) : tail;
}
