import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamo } from '../../../shared/aws.js';
import { byType, keys } from '../../../shared/store/keys.js';
import { queryAll, tableName } from '../../../shared/store/table.js';
import type { TokenContext } from './token-context.js';
import { tokenTtlSeconds } from './token-ttl.js';

/**
 * A revoked token, or (like keystone's revocation events) every token of a user and/or project
 * issued up to `issued_before`: written when a user is deleted, disabled or given a new password,
 * a project deleted or disabled, a role unassigned.
 */
export const RevocationSchema = z.object({
  token_id: z.string().optional(),
  user_id: z.string().optional(),
  project_id: z.string().optional(),
  issued_before: z.string().optional(),
  /** ISO time after which the rule can no longer match a live token. */
  expires: z.string(),
});
export type Revocation = z.infer<typeof RevocationSchema>;

/** What revocation rules look at in a token. */
export type RevocableToken = Pick<TokenContext, 'id' | 'user_id' | 'project_id' | 'issued_at'>;

export function revokes(rule: Revocation, token: RevocableToken): boolean {
  if (rule.token_id !== undefined) return rule.token_id === token.id;
  if (rule.user_id === undefined && rule.project_id === undefined) return false;
  if (rule.user_id !== undefined && rule.user_id !== token.user_id) return false;
  if (rule.project_id !== undefined && rule.project_id !== token.project_id) return false;
  return rule.issued_before !== undefined && Date.parse(token.issued_at) <= Date.parse(rule.issued_before);
}

/**
 * Revocations are cached in memory so that verifying a token reads no table on the hot path.
 * The cache is reloaded from gsi2 at most every REFRESH_MS; revocations made by this process
 * apply at once, those made by other Lambda instances after at most REFRESH_MS plus the GSI's
 * replication lag (usually well under a second). That bounded staleness is the price of not
 * reading the table on every call; keystone's own revocation cache has the same trade-off.
 */
const REFRESH_MS = 5_000;
let loaded: { at: number; rules: Revocation[] } | undefined;
let loading: Promise<Revocation[]> | undefined;
const local: Revocation[] = [];

export async function isRevoked(token: RevocableToken, now = Date.now()): Promise<boolean> {
  const rules = await currentRules(now);
  return rules.some((rule) => revokes(rule, token)) || local.some((rule) => revokes(rule, token));
}

async function currentRules(now: number): Promise<Revocation[]> {
  if (loaded && now - loaded.at < REFRESH_MS) return loaded.rules;
  loading ??= loadRules()
    .then((rules) => {
      loaded = { at: now, rules };
      pruneLocal(now);
      return rules;
    })
    .finally(() => {
      loading = undefined;
    });
  return loading;
}

async function loadRules(): Promise<Revocation[]> {
  const items = await queryAll({
    IndexName: 'gsi2',
    KeyConditionExpression: 'gsi2pk = :t AND gsi2sk > :now',
    ExpressionAttributeValues: { ':t': byType('REVOCATION'), ':now': new Date().toISOString() },
  });
  return items.flatMap((item) => {
    const parsed = RevocationSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

function pruneLocal(now: number): void {
  for (let i = local.length - 1; i >= 0; i--) if (Date.parse(local[i].expires) <= now) local.splice(i, 1);
}

/** Revokes one token until it would have expired anyway. */
export function revokeToken(token: TokenContext): Promise<void> {
  return record({ token_id: token.id, expires: token.expires_at }, token.id);
}

/** Revokes every token already issued to a user, for a project, or to a user for a project. */
export function revokeTokensOf(subject: { user_id?: string; project_id?: string }): Promise<void> {
  if (!subject.user_id && !subject.project_id) throw new Error('revokeTokensOf needs a user or a project');
  const now = new Date();
  // Covers tokens issued up to now; a token can live at most one TTL past its (first) issue.
  const expires = new Date(now.getTime() + (tokenTtlSeconds() + 1) * 1000).toISOString();
  return record({ ...subject, issued_before: now.toISOString(), expires }, `event-${randomUUID()}`);
}

async function record(rule: Revocation, id: string): Promise<void> {
  local.push(rule);
  await dynamo().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...keys.revocation(id),
        type: 'REVOCATION',
        gsi2pk: byType('REVOCATION'),
        gsi2sk: new Date(rule.expires).toISOString(),
        // DynamoDB TTL attribute (epoch seconds): the item is useless once every token it names has expired.
        expires_at: Math.ceil(Date.parse(rule.expires) / 1000),
        ...rule,
      },
    }),
  );
}
