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

/** The console token key pair (Ed25519): the API signs with the SecureString, hosts verify with the plain one. */
export const consoleKeyParameter = `/${PREFIX}/console-signing-key`;
export const consolePublicKeyParameter = `/${PREFIX}/console-verify-key`;

export const sweeper = { intervalSeconds: 30 };

/** The admin password the bootstrap function sets on first deploy: an SSM SecureString in AWS. */
export const adminPasswordParameter = `/${PREFIX}/admin-password`;

/** Image bytes live under this prefix of the image bucket; host agents may read only there. */
export const imageObjectPrefix = 'images/';

/**
 * Image data uploaded through the public front (`PUT /image/v2/images/{id}/file` on the deployed
 * stack) lands here first, at `image-uploads/<image id>/<project id>/<role>/<request id>`; the
 * image-data function checks the uploader against the image, hashes the bytes and moves them to
 * `images/<id>` (docs/images.md).
 */
export const imageUploadPrefix = 'image-uploads/';

/**
 * The public front (CloudFront on AWS, infra/local/edge-server.ts locally): every request goes to
 * the API except image data uploads, which its viewer-request function (infra/edge/) routes to the
 * image bucket, since API Gateway and Lambda refuse bodies over 10 MB and 6 MB.
 */
export const edge = {
  apiOriginId: 'api',
  storageOriginId: 'image-storage',
  /** The cache behavior the function is associated with. */
  imageDataPathPattern: '/image/v2/images/*/file',
  /** The key of the token signing key (base64, as in SSM) in the front's KeyValueStore. */
  tokenKeyName: 'token-key',
  functionFile: 'infra/edge/image-upload-router.js',
} as const;

/**
 * Host agents publish each guest's console log tail under this prefix of the image bucket (the
 * API cannot ask an agent synchronously); agents may only put objects there.
 */
export const consoleObjectPrefix = 'consoles/';
export const consoleObjectKey = (instanceId: string) => `${consoleObjectPrefix}${instanceId}.log`;

/**
 * The principal tag that names a host agent's host (the part of its queue name after
 * `hostQueue.namePrefix`): the host-agent IAM policy lets a principal read only that queue.
 */
export const hostPrincipalTag = `${PREFIX}-host`;

export interface FunctionSettings {
  memoryMb: number;
  timeoutSeconds: number;
}

/**
 * Memory and timeout of each control-plane function. An SQS-triggered function's timeout is at
 * most a sixth of its queue's visibility timeout (AWS's advice for event source mappings), so a
 * batch still being worked on is not handed to a second invocation.
 */
export const functionSettings = {
  /** API Gateway (REST) gives up on an integration after 29 s. */
  api: { memoryMb: 1024, timeoutSeconds: 29 },
  scheduler: { memoryMb: 512, timeoutSeconds: 10 },
  conductor: { memoryMb: 512, timeoutSeconds: 10 },
  /** Below the one-minute AWS schedule, so runs do not pile up. */
  sweeper: { memoryMb: 512, timeoutSeconds: 50 },
  bootstrap: { memoryMb: 512, timeoutSeconds: 120 },
  /** Reads a whole uploaded image once to hash it: Lambda's longest timeout, for multi-GiB images. */
  'image-data': { memoryMb: 1024, timeoutSeconds: 900 },
} as const satisfies Record<string, FunctionSettings>;
