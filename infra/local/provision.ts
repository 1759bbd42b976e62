import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, UpdateTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { objects, queues } from '../../shared/aws.js';
import {
  conductorQueue,
  deadLetterQueueName,
  hostQueue,
  localImageBucket,
  schedulerQueue,
  tableDefinition,
  type QueueDefinition,
} from '../../shared/resources.js';

/**
 * Creates locally what the CDK stack defines (same names and settings, from shared/resources.ts):
 * the table, the scheduler and conductor queues with their dead-letter queues, the shared host
 * dead-letter queue and the image bucket. Safe to run at every start.
 */
export async function provisionLocalResources(): Promise<{ schedulerQueueUrl: string; conductorQueueUrl: string; bucket: string }> {
  await createTable();
  const schedulerQueueUrl = await createQueueWithDlq(schedulerQueue);
  const conductorQueueUrl = await createQueueWithDlq(conductorQueue);
  await queues().send(new CreateQueueCommand({ QueueName: hostQueue.deadLetterName }));
  await createBucket(localImageBucket);
  return { schedulerQueueUrl, conductorQueueUrl, bucket: localImageBucket };
}

async function createTable(): Promise<void> {
  const ddb = new DynamoDBClient({});
  const t = tableDefinition;
  try {
    await ddb.send(new DescribeTableCommand({ TableName: t.name }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  const attrs = new Set<string>([t.partitionKey, t.sortKey, ...t.globalIndexes.flatMap((g) => [g.partitionKey, g.sortKey])]);
  await ddb.send(
    new CreateTableCommand({
      TableName: t.name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attrs].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: t.partitionKey, KeyType: 'HASH' },
        { AttributeName: t.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: t.globalIndexes.map((g) => ({
        IndexName: g.name,
        KeySchema: [
          { AttributeName: g.partitionKey, KeyType: 'HASH' },
          { AttributeName: g.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
  await ddb.send(new UpdateTimeToLiveCommand({ TableName: t.name, TimeToLiveSpecification: { AttributeName: t.ttlAttribute, Enabled: true } }));
}

async function createQueueWithDlq(q: QueueDefinition): Promise<string> {
  const dlq = await queues().send(new CreateQueueCommand({ QueueName: deadLetterQueueName(q.name) }));
  const dlqArn = await queueArn(dlq.QueueUrl!);
  const out = await queues().send(
    new CreateQueueCommand({
      QueueName: q.name,
      Attributes: {
        VisibilityTimeout: String(q.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: q.maxReceiveCount }),
      },
    }),
  );
  return out.QueueUrl!;
}

export async function queueArn(queueUrl: string): Promise<string> {
  const out = await queues().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return out.Attributes!.QueueArn!;
}

async function createBucket(name: string): Promise<void> {
  try {
    await objects().send(new CreateBucketCommand({ Bucket: name }));
  } catch (err) {
    const code = (err as { name?: string }).name;
    if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
  }
}
