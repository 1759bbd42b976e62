import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamo } from '../aws.js';
import { ACTION_EVENTS, InstanceActionName, TASKLESS_ACTIONS } from '../domain/instance-states.js';
import { keys } from './keys.js';
import { conditionalWrite, getItem, putNew, queryAll, tableName, type TransactItem } from './table.js';

/** One compute-side step of an action (Nova's InstanceActionEvent). `done` guards its single finish. */
export const ActionEventSchema = z.object({
  event: z.string(),
  start_time: z.string(),
  finish_time: z.string().nullable(),
  result: z.enum(['Success', 'Error']).nullable(),
  traceback: z.string().nullable(),
  done: z.boolean(),
});
export type ActionEvent = z.infer<typeof ActionEventSchema>;

/** What was asked of an instance, by whom, and how it went (Nova's InstanceAction). */
export const InstanceActionSchema = z.object({
  action: z.enum(Object.values(InstanceActionName) as [InstanceActionName, ...InstanceActionName[]]),
  instance_uuid: z.string(),
  request_id: z.string(),
  user_id: z.string(),
  project_id: z.string(),
  start_time: z.string(),
  updated_at: z.string(),
  /** 'Error' once an event failed, as Nova sets it. */
  message: z.string().nullable(),
  events: z.record(z.string(), ActionEventSchema),
  /**
   * For createImage and createBackup: the image and the multipart upload the host fills (the
   * conductor trusts these, not the report); for a backup, the older backups of its type to keep.
   */
  snapshot: z
    .object({ image_id: z.string(), upload_id: z.string(), backup: z.object({ type: z.string(), rotation: z.number().int().nonnegative() }).optional() })
    .nullable()
    .default(null),
});
export type InstanceAction = z.infer<typeof InstanceActionSchema>;

/** Instance actions (and the record) of a deleted instance are kept this long, then DynamoDB's TTL removes them. */
export const RETENTION_AFTER_DELETE_SECONDS = 30 * 24 * 3600;

/** A new action, its compute event (if it has one) started now. */
export function newAction(
  o: { instanceId: string; action: InstanceActionName; requestId: string; userId: string; projectId: string; snapshot?: InstanceAction['snapshot'] },
  now = new Date().toISOString(),
): InstanceAction {
  const event = ACTION_EVENTS[o.action];
  return {
    action: o.action,
    instance_uuid: o.instanceId,
    request_id: o.requestId,
    user_id: o.userId,
    project_id: o.projectId,
    start_time: now,
    updated_at: now,
    message: null,
    events: event ? { [event]: { event, start_time: now, finish_time: null, result: null, traceback: null, done: false } } : {},
    snapshot: o.snapshot ?? null,
  };
}

const itemOf = (a: InstanceAction) => ({ ...keys.instanceAction(a.instance_uuid, a.request_id), type: 'instance_action', ...a });

/** The put of a new action, for the same transaction as the state change it records. */
export function actionPut(a: InstanceAction): TransactItem {
  return { Put: { TableName: tableName(), Item: itemOf(a), ConditionExpression: 'attribute_not_exists(pk)' } };
}

/**
 * The put of an action that changes nothing on the instance (trigger_crash_dump), with a check
 * that the instance is still at the version whose states allowed it.
 */
export function actionPutOnVersion(a: InstanceAction, version: number): TransactItem[] {
  const check: TransactItem = {
    ConditionCheck: { TableName: tableName(), Key: keys.instance(a.instance_uuid), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': version } },
  };
  return [check, actionPut(a)];
}

/** Records an action on its own; false if this request already recorded it. */
export function recordAction(a: InstanceAction): Promise<boolean> {
  return putNew(itemOf(a));
}

/** An action past its retention may outlive it for a while (TTL deletes are not prompt): it is gone. */
export const expired = (item: Record<string, unknown>, now = Date.now()) => typeof item.expires_at === 'number' && item.expires_at * 1000 <= now;

export async function getAction(instanceId: string, requestId: string, consistent = true): Promise<InstanceAction | undefined> {
  const item = await getItem(keys.instanceAction(instanceId, requestId), consistent);
  return item && !expired(item) ? InstanceActionSchema.parse(item) : undefined;
}

/** An instance's actions, newest first (as Nova lists them). */
export async function listActions(instanceId: string, consistent = false): Promise<InstanceAction[]> {
  const items = await queryAll({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': keys.instance(instanceId).pk, ':prefix': 'ACTION#' },
    ConsistentRead: consistent,
  });
  return items
    .filter((item) => !expired(item))
    .map((item) => InstanceActionSchema.parse(item))
    .sort((a, b) => b.start_time.localeCompare(a.start_time) || b.request_id.localeCompare(a.request_id));
}

/**
 * The project a deleted instance belonged to, from its kept actions: its create action was made
 * in its project (other actions carry the project of whoever asked, an admin's maybe).
 */
export function projectOfDeleted(actions: InstanceAction[]): string | undefined {
  return actions.find((a) => a.action === InstanceActionName.CREATE)?.project_id;
}

/**
 * The newest action that runs a task on the host (a compute event, not a taskless action). Only one task runs
 * at a time, so a host's report for any other action is stale: a later action replaced it.
 */
export async function latestTaskAction(instanceId: string): Promise<InstanceAction | undefined> {
  return newestTaskAction(await listActions(instanceId, true));
}

/** latestTaskAction of actions already listed (newest first). */
export function newestTaskAction(actions: InstanceAction[]): InstanceAction | undefined {
  return actions.find((a) => Object.keys(a.events).length > 0 && !TASKLESS_ACTIONS.has(a.action));
}

export interface EventOutcome {
  event: string;
  start_time: string;
  finish_time: string;
  result: 'Success' | 'Error';
  traceback?: string | null;
}

/** Finishes an event once: the update fails its condition if the event was finished already. */
export function eventFinish(instanceId: string, requestId: string, o: EventOutcome): TransactItem {
  const values: Record<string, unknown> = {
    ':event': { event: o.event, start_time: o.start_time, finish_time: o.finish_time, result: o.result, traceback: o.traceback ?? null, done: true },
    ':now': o.finish_time,
    ':false': false,
  };
  let update = 'SET events.#e = :event, updated_at = :now';
  if (o.result === 'Error') {
    update += ', message = :error';
    values[':error'] = 'Error';
  }
  return {
    Update: {
      TableName: tableName(),
      Key: keys.instanceAction(instanceId, requestId),
      UpdateExpression: update,
      ConditionExpression: 'attribute_exists(pk) AND events.#e.done = :false',
      ExpressionAttributeNames: { '#e': o.event },
      ExpressionAttributeValues: values,
    },
  };
}

/** Finishes an event on its own; false if it was finished already (or never started). */
export function finishEvent(instanceId: string, requestId: string, o: EventOutcome): Promise<boolean> {
  return conditionalWrite(dynamo().send(new UpdateCommand(eventFinish(instanceId, requestId, o).Update!)));
}

/** Once an instance is gone its actions are kept for a while (readable from microversion 2.21), then DynamoDB's TTL removes them. */
export async function expireActions(instanceId: string, now = Date.now()): Promise<void> {
  const expiresAt = Math.floor(now / 1000) + RETENTION_AFTER_DELETE_SECONDS;
  for (const action of await listActions(instanceId)) {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.instanceAction(instanceId, action.request_id),
        UpdateExpression: 'SET expires_at = :e',
        ExpressionAttributeValues: { ':e': expiresAt },
      }),
    );
  }
}
