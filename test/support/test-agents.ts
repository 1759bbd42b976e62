import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startAgent, type AgentOptions } from '../../infra/local/agents.js';
import { cloud } from './cloud.js';

/**
 * Starts a real host agent as a child process against the shared cloud's queues, the way
 * infra/local/start.ts starts its own: only the SQS and S3 endpoints, never DynamoDB. Its state
 * goes in `<baseDir>/agents/<host>`, its log in `<baseDir>/logs/<host>.log`.
 */
export function startCloudAgent(o: { host: string; baseDir: string; logLevel: string; extraArgs: string[] } & Pick<AgentOptions, 'driver' | 'imageBucket'>): ChildProcess {
  const c = cloud();
  return startAgent({
    host: o.host,
    driver: o.driver,
    imageBucket: o.imageBucket,
    stateDir: join(o.baseDir, 'agents', o.host),
    logDir: join(o.baseDir, 'logs'),
    conductorQueueUrl: c.conductorQueueUrl,
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_S3_FORCE_PATH_STYLE: 'true',
      AWS_ENDPOINT_URL_SQS: c.endpoints.sqs!,
      AWS_ENDPOINT_URL_S3: c.endpoints.s3!,
      LOG_LEVEL: o.logLevel,
    },
    extraArgs: o.extraArgs,
  });
}

/** A host agent with the fake driver and the given inventory. */
export function startTestAgent(o: { host: string; zone: string; vcpus: number; memoryMb: number; diskGb: number; stateDir: string }): ChildProcess {
  return startCloudAgent({
    host: o.host,
    baseDir: o.stateDir,
    logLevel: 'WARN',
    extraArgs: ['--az', o.zone, '--vcpus', String(o.vcpus), '--memory-mb', String(o.memoryMb), '--disk-gb', String(o.diskGb), '--heartbeat-interval-seconds', '5'],
  });
}
