import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError } from './command-runner.js';
import type { HostNetworkState } from './desired-state.js';
import type { Changes, HostContext } from './host-context.js';
import { SG_TABLE, SPOOF_TABLE } from './names.js';
import { renderRuleset, renderTeardown } from './nft-ruleset.js';

/**
 * Puts the rendered ruleset (nft-ruleset.ts) in the kernel as one transaction, only when it
 * differs. "Differs" is judged on both sides: the script rendered now against the one applied
 * last (its hash, kept in the state dir), and the kernel's listing of our tables against the
 * listing taken right after that apply, so rules someone changed or flushed are put back too.
 */

const TABLES = [SPOOF_TABLE, SG_TABLE];
const recordFile = (ctx: HostContext) => join(ctx.stateDir, 'nft', 'applied.json');

interface AppliedRecord {
  scriptHash: string;
  listing: string;
}

const nft = (ctx: HostContext, args: string[], stdin?: string) => ctx.runner.run('nft', args, { netns: ctx.netns, stdin });

/** The kernel's listing of our tables ('' for a table that does not exist). */
export async function listOwnTables(ctx: HostContext): Promise<string> {
  const parts: string[] = [];
  for (const t of TABLES) {
    try {
      parts.push(await nft(ctx, ['list', 'table', t.family, t.name]));
    } catch (error) {
      if (!(error instanceof CommandError && /No such file or directory/.test(error.stderr))) throw error;
      parts.push('');
    }
  }
  return parts.join('');
}

const chainsIn = (listing: string) => new Set([...listing.matchAll(/^\s*chain (\S+) \{/gm)].map((m) => m[1]));

export async function applySecurity(ctx: HostContext, state: HostNetworkState, changes: Changes): Promise<void> {
  const script = renderRuleset(state);
  const scriptHash = createHash('sha256').update(script).digest('hex');
  const before = await listOwnTables(ctx);
  const record = await readRecord(ctx);
  if (record?.scriptHash === scriptHash && record.listing === before) return;

  await nft(ctx, ['-f', '-'], script);
  const after = await listOwnTables(ctx);
  await mkdir(join(ctx.stateDir, 'nft'), { recursive: true });
  await writeFile(recordFile(ctx), JSON.stringify({ scriptHash, listing: after } satisfies AppliedRecord));

  const [old, now] = [chainsIn(before), chainsIn(after)];
  const added = [...now].filter((c) => !old.has(c)).length;
  const removed = [...old].filter((c) => !now.has(c)).length;
  changes.added += added;
  changes.removed += removed;
  if (!added && !removed) changes.changed++;
  ctx.log(`replaced the firewall rules (${state.ports.length} port(s): ${added} chain(s) added, ${removed} removed)`);
}

/** Deletes our tables. */
export async function removeSecurity(ctx: HostContext, changes: Changes): Promise<void> {
  if ((await listOwnTables(ctx)) !== '') {
    await nft(ctx, ['-f', '-'], renderTeardown());
    ctx.log('removed the firewall tables');
    changes.removed++;
  }
  await rm(recordFile(ctx), { force: true });
}

async function readRecord(ctx: HostContext): Promise<AppliedRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordFile(ctx), 'utf8')) as AppliedRecord;
  } catch {
    return undefined;
  }
}
