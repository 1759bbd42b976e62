/**
 * The one source of truth for the names and settings of the cloud's AWS resources.
 * The CDK stack (infra/stack.ts) and the local cloud (infra/local/) both read from here.
 */
export const PREFIX = 'novaless';

export const tableDefinition = {
  name: `${PREFIX}-state`,
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expires_at',
  /** Generic overloaded indexes; what each holds is documented in shared/store/keys.ts. */
  globalIndexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
} as const;

export interface QueueDefinition {
  name: string;
  visibilityTimeoutSeconds: number;
  /** Deliveries before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  /** Lambda event source mapping batch size (the local pollers use the same). */
  batchSize: number;
}

export const schedulerQueue: QueueDefinition = {
  name: `${PREFIX}-scheduler`,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 5,
  batchSize: 10,
};

export const conductorQueue: QueueDefinition = {
  name: `${PREFIX}-conductor`,
  visibilityTimeoutSeconds: 60,
  maxReceiveCount: 5,
  batchSize: 10,
};

/** Per-host queues are created by the conductor when a host registers. */
export const hostQueue = {
  namePrefix: `${PREFIX}-host-`,
  visibilityTimeoutSeconds: 120,
  maxReceiveCount: 5,
  deadLetterName: `${PREFIX}-host-dlq`,
};

export const deadLetterQueueName = (queueName: string) => `${queueName}-dlq`;

/** Host names become queue names: keep them to what SQS allows. */
export const hostQueueName = (host: string) => `${hostQueue.namePrefix}${host.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export const imageBucketName = (account: string) => `${PREFIX}-images-${account}`;
export const localImageBucket = `${PREFIX}-images`;

/** The signing key for tokens: an SSM SecureString in AWS, a file in the state dir locally. */
export const tokenKeyParameter = `/${PREFIX}/token-signing-key`;

export const sweeper = { intervalSeconds: 30 };
