import { performance } from 'node:perf_hooks';
import { startCloud } from './local-cloud.js';
import { createTenants } from './client.js';
const cloud = await startCloud({ hosts: 1 });
try {
  const info = cloud.info;
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL_DYNAMODB: info.endpoints.dynamodb, AWS_ENDPOINT_URL_SQS: info.endpoints.sqs, AWS_ENDPOINT_URL_S3: info.endpoints.s3, TABLE_NAME: info.tableName, SCHEDULER_QUEUE_URL: info.schedulerQueueUrl, CONDUCTOR_QUEUE_URL: info.conductorQueueUrl, IMAGE_BUCKET: info.imageBucket });
  const [t] = await createTenants(cloud.client, cloud.adminToken, 'scr', 1);
  const { createInstances, listProjectInstances } = await import('../shared/store/instances.js');
  const { InstanceSchema } = await import('../shared/domain/instance.js');
  const { randomUUID } = await import('node:crypto');
  const { dynamo } = await import('../shared/aws.js');
  for (let b = 0; b < 20; b++) {
    const now = new Date().toISOString();
    await createInstances(Array.from({ length: 50 }, (_, k) => InstanceSchema.parse({ id: randomUUID(), name: `x${b}-${k}`, hostname: 'x', project_id: t.projectId, user_id: t.userId, image_ref: 'i', image_meta: { id: 'i', disk_format: 'raw', size: 1, os_hash_algo: null, os_hash_value: null }, flavor: { id: '1', name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1 }, addresses: { shared: [{ addr: '10.0.0.2', version: 4, mac_addr: 'fa:16:3e:00:00:01' }] }, vm_state: 'active', task_state: null, power_state: 1, host: 'host-1', reservation_id: 'r', version: 1, created_at: now, updated_at: now, launched_at: now })), { instances: 1e6, cores: 1e6, ram: 1e9 });
  }
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient, QueryCommand } = await import('@aws-sdk/lib-dynamodb');
  const { projectInstances } = await import('../shared/store/keys.js');
  const mk = (strip: boolean) => { const c = new DynamoDBClient({}); if (strip) c.middlewareStack.remove('loggerMiddleware'); return DynamoDBDocumentClient.from(c, { marshallOptions: { removeUndefinedValues: true } }); };
  const clients = { with: mk(false), without: mk(true) };
  const q = async (c: any) => { let key: any; let n = 0; do { const o: any = await c.send(new QueryCommand({ TableName: info.tableName, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': projectInstances(t.projectId) }, ExclusiveStartKey: key })); n += o.Items.length; key = o.LastEvaluatedKey; } while (key); return n; };
  const res: Record<string, number[]> = { with: [], without: [] };
  for (let k = 0; k < 20; k++) for (const name of (k % 2 ? ['with', 'without'] : ['without', 'with']) as ('with' | 'without')[]) { const s = process.cpuUsage(); if (await q(clients[name]) !== 1000) throw new Error('n'); const d = process.cpuUsage(s); res[name].push((d.user + d.system) / 1000); }
  for (const [name, xs] of Object.entries(res)) { xs.sort((a, b) => a - b); console.log(name, 'loggerMiddleware: CPU ms per 1000-item query p50', xs[10].toFixed(1), 'min', xs[0].toFixed(1)); }
} finally { await cloud.stop(); }
