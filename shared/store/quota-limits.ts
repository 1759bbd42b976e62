import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws.js';
import { BUILTIN_LIMITS, QuotaLimitsSchema, type ComputeLimits, type QuotaLimits } from '../domain/quota.js';
import { getItem, tableName } from './table.js';

/**
 * Compute quota limits as Nova layers them: the built-in defaults, then the `default` quota
 * class (os-quota-class-sets), then what was set for the project (os-quota-sets), then for one
 * of its users. Only set values are stored, one item per class, project and user.
 */
const classKey = (name: string) => ({ pk: `QUOTACLASS#${name}`, sk: 'QUOTA_LIMITS' });
const projectKey = (projectId: string) => ({ pk: `PROJECT#${projectId}`, sk: 'QUOTA_LIMITS' });
const userKey = (projectId: string, userId: string) => ({ pk: `PROJECT#${projectId}`, sk: `QUOTA_LIMITS#USER#${userId}` });

async function read(key: { pk: string; sk: string }): Promise<QuotaLimits> {
  const item = await getItem(key, true);
  return item ? QuotaLimitsSchema.parse(item.limits ?? {}) : {};
}

async function write(key: { pk: string; sk: string }, limits: QuotaLimits): Promise<void> {
  await dynamo().send(new PutCommand({ TableName: tableName(), Item: { ...key, type: 'quota_limits', limits } }));
}

/** A class's limits: the built-in ones with what was set for it ('default' is what every project starts from). */
export async function classLimits(name = 'default'): Promise<ComputeLimits> {
  return { ...BUILTIN_LIMITS, ...(await read(classKey(name))) };
}

export async function setClassLimits(name: string, changes: QuotaLimits): Promise<ComputeLimits> {
  await write(classKey(name), { ...(await read(classKey(name))), ...changes });
  return classLimits(name);
}

/** The limits that hold for a project. */
export async function projectLimits(projectId: string): Promise<ComputeLimits> {
  const [defaults, own] = await Promise.all([classLimits(), read(projectKey(projectId))]);
  return { ...defaults, ...own };
}

export async function setProjectLimits(projectId: string, changes: QuotaLimits): Promise<ComputeLimits> {
  await write(projectKey(projectId), { ...(await read(projectKey(projectId))), ...changes });
  return projectLimits(projectId);
}

/** Back to the defaults (Nova's DELETE os-quota-sets). */
export async function resetProjectLimits(projectId: string): Promise<void> {
  await dynamo().send(new DeleteCommand({ TableName: tableName(), Key: projectKey(projectId) }));
}

/** The limits that hold for one user of a project (Nova's legacy per-user quotas): the project's, with what was set for the user. */
export async function userLimits(projectId: string, userId: string): Promise<ComputeLimits> {
  const [project, own] = await Promise.all([projectLimits(projectId), read(userKey(projectId, userId))]);
  return { ...project, ...own };
}

export async function setUserLimits(projectId: string, userId: string, changes: QuotaLimits): Promise<ComputeLimits> {
  await write(userKey(projectId, userId), { ...(await read(userKey(projectId, userId))), ...changes });
  return userLimits(projectId, userId);
}

export async function resetUserLimits(projectId: string, userId: string): Promise<void> {
  await dynamo().send(new DeleteCommand({ TableName: tableName(), Key: userKey(projectId, userId) }));
}
