import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';

/**
 * AWS SDK clients, created once per process and shared by every handler.
 * Only the endpoint differs between AWS, LocalStack and the local emulators: the SDK reads
 * AWS_ENDPOINT_URL_DYNAMODB / _SQS / _S3 (or AWS_ENDPOINT_URL) itself.
 */
let ddb: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;
let s3: S3Client | undefined;

export function dynamo(): DynamoDBDocumentClient {
  if (!ddb) {
    const client = new DynamoDBClient({});
    // The SDK's logger middleware copies every response through its sensitive-data filter even
    // with no logger set: about a quarter of the CPU of a 1000-item query (bench/PROMISES.md).
    client.middlewareStack.remove('loggerMiddleware');
    ddb = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }
  return ddb;
}

export function queues(): SQSClient {
  sqs ??= new SQSClient({});
  return sqs;
}

export function objects(): S3Client {
  s3 ??= new S3Client({
    // s3rver and LocalStack need path-style addressing; AWS accepts it too.
    forcePathStyle: process.env.AWS_S3_FORCE_PATH_STYLE === 'true',
    // s3rver stores aws-chunked framing verbatim when the SDK adds flexible checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3;
}
