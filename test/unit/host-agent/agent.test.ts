import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { ConductorMessageSchema, type ConductorMessage } from '../../../shared/messages/conductor.js';
import { hostQueue, hostQueueName } from '../../../shared/resources.js';
import { runAgent } from '../../../host-agent/agent.js';
import { loadAgentConfig } from '../../../host-agent/config.js';
import { guestSpec, silentLogger, tempDir } from './support.js';

/** The agent against a real (emulated) SQS: registration, the queue loop, heartbeats, shutdown. */
describe('host agent on a local SQS', () => {
  let server: Server;
  let sqs: SQSClient;
  let conductorQueueUrl: string;
  const received: ConductorMessage[] = [];

  beforeAll(async () => {
    server = await createSqsServer({ port: 0, hostname: '127.0.0.1' } as never);
    const { port } = server.address() as AddressInfo;
    // The agent's own clients find the emulator through the SDK's usual variables.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    sqs = new SQSClient({});
    conductorQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'novaless-conductor' }))).QueueUrl!;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Reads the conductor queue until a report matches. */
  async function waitForReport(match: (r: ConductorMessage) => boolean, timeoutMs = 20_000): Promise<ConductorMessage> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = received.find(match);
      if (found) return found;
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: conductorQueueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
      for (const message of Messages) {
        received.push(ConductorMessageSchema.parse(JSON.parse(message.Body!)));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: conductorQueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
    throw new Error('no matching report arrived');
  }

  it('registers, waits for its queue, runs commands, heartbeats and stops cleanly', async () => {
    const host = 'compute-sqs-1';
    const config = await loadAgentConfig({
      flags: { host, driver: 'fake', 'state-dir': await tempDir(), 'conductor-queue-url': conductorQueueUrl, vcpus: '12', 'heartbeat-interval-seconds': '1' },
    });
    const stopping = new AbortController();
    const running = runAgent(config, stopping.signal, { log: silentLogger(), waitTimeSeconds: 2 });

    const register = await waitForReport((r) => r.type === 'register' && r.host === host);
    expect(register).toMatchObject({ inventory: { host, vcpus: 12, availability_zone: 'nova', virt_type: 'fake' } });

    // What the conductor does when a host registers.
    const queueUrl = (
      await sqs.send(new CreateQueueCommand({ QueueName: hostQueueName(host), Attributes: { VisibilityTimeout: String(hostQueue.visibilityTimeoutSeconds) } }))
    ).QueueUrl!;

    const guest = guestSpec();
    const send = (body: unknown) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: typeof body === 'string' ? body : JSON.stringify(body) }));
    await send('not json at all');
    await send({ type: 'reboot', request_id: 'req-x', instance_id: guest.instance_id });
    await send({ type: 'spawn', request_id: 'req-1', guest });
    await send({ type: 'spawn', request_id: 'req-1', guest });

    const spawned = await waitForReport((r) => r.type === 'spawned' && r.instance_id === guest.instance_id);
    expect(spawned).toMatchObject({ host, request_id: 'req-1', power_state: PowerState.RUNNING });
    const heartbeat = await waitForReport((r) => r.type === 'heartbeat' && r.guests.some((g) => g.instance_id === guest.instance_id));
    expect(heartbeat).toMatchObject({ guests: [{ instance_id: guest.instance_id, power_state: PowerState.RUNNING }] });

    await send({ type: 'destroy', request_id: 'req-2', instance_id: guest.instance_id });
    await waitForReport((r) => r.type === 'destroyed' && r.instance_id === guest.instance_id);

    // Every command was deleted: the invalid ones too, and the duplicate spawn once handled.
    await waitForReport(() => false, 1_500).catch(() => undefined);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
    expect(received.filter((r) => r.type === 'spawned' && r.instance_id === guest.instance_id)).toHaveLength(2);

    // A command that arrives while the agent stops is handed back for the next agent, not hidden.
    const stoppedAt = Date.now();
    stopping.abort();
    await send({ type: 'destroy', request_id: 'req-3', instance_id: guest.instance_id });
    await running;
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    const after = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(after.Attributes?.ApproximateNumberOfMessages).toBe('1');
  });

  it('stops while still waiting for its queue', async () => {
    const config = await loadAgentConfig({ flags: { host: 'compute-sqs-never', driver: 'fake', 'state-dir': await tempDir(), 'conductor-queue-url': conductorQueueUrl } });
    const stopping = new AbortController();
    const running = runAgent(config, stopping.signal, { log: silentLogger(), waitTimeSeconds: 2 });
    await waitForReport((r) => r.type === 'register' && r.host === 'compute-sqs-never');
    stopping.abort();
    await running;
  });
});
