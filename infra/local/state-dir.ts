import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the local cloud keeps its state: `.novaless/` in the repo, or NOVALESS_STATE_DIR. */
export const stateDir = () => resolve(process.env.NOVALESS_STATE_DIR ?? join(repoRoot, '.novaless'));

/** What a running local cloud tells other processes (tests, benchmarks) about itself. */
export interface CloudInfo {
  pid: number;
  apiUrl: string;
  authUrl: string;
  endpoints: { dynamodb?: string; sqs?: string; s3?: string; all?: string };
  tableName: string;
  schedulerQueueUrl: string;
  conductorQueueUrl: string;
  imageBucket: string;
  tokenKeyFile: string;
  /** The console token signing key (the API's) and its public half (the host agents'). */
  consoleKeyFile: string;
  consolePublicKeyFile: string;
  adminPassword: string;
  /** The namespace that stands for the outside world (as root only): `ip netns exec <it> ssh cirros@<floating ip>`. */
  externalNetns?: string;
}

export const cloudInfoPath = (dir: string) => join(dir, 'cloud.json');

export function readCloudInfo(dir = stateDir()): CloudInfo {
  return JSON.parse(readFileSync(cloudInfoPath(dir), 'utf8')) as CloudInfo;
}

/**
 * The environment (AWS SDK endpoints and handler config) under which another process (a test,
 * a benchmark) runs the real handlers and store code in-process against this cloud, as start.ts
 * does for itself. Set it before the first AWS call: SDK clients and config are made once.
 */
export function handlerEnvironment(info: CloudInfo) {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_S3_FORCE_PATH_STYLE: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: info.endpoints.dynamodb ?? info.endpoints.all,
    AWS_ENDPOINT_URL_SQS: info.endpoints.sqs ?? info.endpoints.all,
    AWS_ENDPOINT_URL_S3: info.endpoints.s3 ?? info.endpoints.all,
    TABLE_NAME: info.tableName,
    SCHEDULER_QUEUE_URL: info.schedulerQueueUrl,
    CONDUCTOR_QUEUE_URL: info.conductorQueueUrl,
    IMAGE_BUCKET: info.imageBucket,
    TOKEN_KEY_FILE: info.tokenKeyFile,
    CONSOLE_KEY_FILE: info.consoleKeyFile,
    PUBLIC_ENDPOINT: info.apiUrl,
    LOG_LEVEL: 'WARN',
  };
}

/** The admin password, generated at first start and kept in the state dir (mode 0600). */
export function adminPassword(dir: string): string {
  const file = join(dir, 'admin-password');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

export function openrc(info: CloudInfo): string {
  return [
    '# novaless local cloud: source this file, then use the openstack CLI',
    `export OS_AUTH_URL=${info.authUrl}`,
    'export OS_IDENTITY_API_VERSION=3',
    'export OS_USERNAME=admin',
    `export OS_PASSWORD=${info.adminPassword}`,
    'export OS_PROJECT_NAME=admin',
    'export OS_USER_DOMAIN_NAME=Default',
    'export OS_PROJECT_DOMAIN_NAME=Default',
    'export OS_REGION_NAME=RegionOne',
    'export OS_INTERFACE=public',
    ...(info.externalNetns ? [`export NOVALESS_EXTERNAL_NETNS=${info.externalNetns}`] : []),
    '',
  ].join('\n');
}
