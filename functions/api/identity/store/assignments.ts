import { BatchWriteCommand, DeleteCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamo } from '../../../../shared/aws.js';
import { byType, keys, userAssignments } from '../../../../shared/store/keys.js';
import { cancelledIndexes, listByType, queryAll, tableName } from '../../../../shared/store/table.js';

/** A role given to a user on a project (the only assignment kind here: no groups, domains or system scope). */
export const AssignmentSchema = z.object({
  project_id: z.string(),
  user_id: z.string(),
  role_id: z.string(),
});
export type Assignment = z.infer<typeof AssignmentSchema>;

const parse = (items: Record<string, unknown>[]) => items.map((item) => AssignmentSchema.parse(item));

export type AssignOutcome = 'assigned' | 'no-project' | 'no-user' | 'no-role';

/**
 * Writes the assignment in one transaction with existence checks on its project, user and
 * role, so it cannot outlive a concurrent delete of any of them. Assigning twice is a no-op.
 */
export async function assignRole(a: Assignment): Promise<AssignOutcome> {
  const exists = (key: { pk: string; sk: string }) => ({
    ConditionCheck: { TableName: tableName(), Key: key, ConditionExpression: 'attribute_exists(pk)' },
  });
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          exists(keys.project(a.project_id)),
          exists(keys.user(a.user_id)),
          exists(keys.role(a.role_id)),
          {
            Put: {
              TableName: tableName(),
              Item: {
                ...keys.assignment(a.project_id, a.user_id, a.role_id),
                type: 'ASSIGNMENT',
                gsi1pk: userAssignments(a.user_id),
                gsi1sk: `${a.project_id}#${a.role_id}`,
                gsi2pk: byType('ASSIGNMENT'),
                gsi2sk: `${a.project_id}#${a.user_id}#${a.role_id}`,
                ...a,
              },
            },
          },
        ],
      }),
    );
    return 'assigned';
  } catch (err) {
    const failed = cancelledIndexes(err);
    if (failed.includes(0)) return 'no-project';
    if (failed.includes(1)) return 'no-user';
    if (failed.includes(2)) return 'no-role';
    throw err;
  }
}

/** Removes an assignment; false if there was none. */
export async function unassignRole(a: Assignment): Promise<boolean> {
  try {
    await dynamo().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: keys.assignment(a.project_id, a.user_id, a.role_id),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

/** A user's assignments on one project, read consistently (token issue depends on it). */
export async function assignmentsOn(projectId: string, userId?: string): Promise<Assignment[]> {
  return parse(
    await queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.project(projectId).pk, ':prefix': userId ? `ASSIGNMENT#${userId}#` : 'ASSIGNMENT#' },
      ConsistentRead: true,
    }),
  );
}

export async function assignmentsOf(userId: string): Promise<Assignment[]> {
  return parse(
    await queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': userAssignments(userId) },
    }),
  );
}

export async function allAssignments(): Promise<Assignment[]> {
  return parse(await listByType('ASSIGNMENT'));
}

/** Deletes assignments (after their project, user or role is gone). */
export async function deleteAssignments(assignments: Assignment[]): Promise<void> {
  for (let i = 0; i < assignments.length; i += 25) {
    let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] = assignments
      .slice(i, i + 25)
      .map((a) => ({ DeleteRequest: { Key: keys.assignment(a.project_id, a.user_id, a.role_id) } }));
    while (requests.length) {
      const out = await dynamo().send(new BatchWriteCommand({ RequestItems: { [tableName()]: requests } }));
      requests = out.UnprocessedItems?.[tableName()] ?? [];
      if (requests.length) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
