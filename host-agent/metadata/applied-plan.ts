import { readFile, stat } from 'node:fs/promises';
import { HostNetworkPlanSchema } from '../../shared/domain/network/host-plan.js';
import type { MetadataPlan } from './metadata-server.js';

/**
 * The plan the agent applied last, as NetworkPlans keeps it (`{ applied_at, plan }` in
 * appliedPlanFile, commands/network-plan.ts), read again only when the file was replaced (it is
 * written to a temporary file and renamed, so each version is a new inode). Undefined before the
 * first plan, or while the file does not parse.
 */
export function appliedPlanReader(file: string): () => Promise<MetadataPlan | undefined> {
  let cached: { version: string; plan: MetadataPlan | undefined } | undefined;
  return async () => {
    const info = await stat(file).catch(() => undefined);
    if (!info) return undefined;
    const version = `${info.ino}:${info.mtimeMs}:${info.size}`;
    if (cached?.version !== version) {
      const text = await readFile(file, 'utf8').catch(() => '');
      cached = { version, plan: parse(text) };
    }
    return cached.plan;
  };
}

function parse(text: string): MetadataPlan | undefined {
  try {
    const parsed = HostNetworkPlanSchema.safeParse((JSON.parse(text) as { plan?: unknown }).plan);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
