import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** The context object Lambda passes a handler, for invoking the real handlers outside Lambda. */
export function lambdaContext(functionName: string): Context {
  return {
    functionName,
    awsRequestId: randomUUID(),
    callbackWaitsForEmptyEventLoop: false,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
