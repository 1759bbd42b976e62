import type { Logger } from '@aws-lambda-powertools/logger';
import { GetQueueUrlCommand, QueueDoesNotExist, type SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostInventory } from '../shared/domain/host.js';
import { hostQueueName } from '../shared/resources.js';
import type { Reporter } from './reports.js';

export interface RegistrationOptions {
  sqs: SQSClient;
  reporter: Reporter;
  inventory: HostInventory;
  log: Logger;
  signal: AbortSignal;
  /** While the queue is missing, `register` is sent again this often (the first one may be lost). */
  resendEveryMs?: number;
  firstBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Registers the host with the control plane (like nova-compute creating its service record)
 * and waits for the conductor to create the host's own queue. Returns that queue's URL, or
 * undefined if the signal aborted first.
 */
export async function registerAndWaitForQueue(options: RegistrationOptions): Promise<string | undefined> {
  const { sqs, reporter, inventory, log, signal } = options;
  const resendEveryMs = options.resendEveryMs ?? 30_000;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const queueName = hostQueueName(inventory.host);

  let lastRegisterAt = -Infinity;
  let backoffMs = options.firstBackoffMs ?? 500;
  while (!signal.aborted) {
    if (Date.now() - lastRegisterAt >= resendEveryMs) {
      lastRegisterAt = Date.now();
      try {
        await reporter.send({ type: 'register', inventory });
        log.info('sent registration to the control plane', { vcpus: inventory.vcpus, memory_mb: inventory.memory_mb, disk_gb: inventory.disk_gb });
      } catch (error) {
        log.warn('could not send registration, will try again', { error: error as Error });
      }
    }
    try {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }), { abortSignal: signal });
      if (QueueUrl) {
        log.info('host queue is ready', { queue_url: QueueUrl });
        return QueueUrl;
      }
    } catch (error) {
      if (signal.aborted) break;
      if (isQueueMissing(error)) log.info(`waiting for the control plane to create queue ${queueName}`);
      else log.warn(`could not look up queue ${queueName}, will try again`, { error: error as Error });
    }
    await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  }
  return undefined;
}

/**
 * Asks the control plane for this host's network plan (sent once the queue is there, so the plan
 * has somewhere to go). A lost request is repaired by the next change on the host's networks.
 */
export async function requestNetworkPlan(reporter: Reporter, log: Logger): Promise<void> {
  try {
    await reporter.send({ type: 'network_sync_request' });
    log.info('asked the control plane for this host\'s network plan');
  } catch (error) {
    log.warn('could not ask for the network plan; the next network change brings it', { error: error as Error });
  }
}

function isQueueMissing(error: unknown): boolean {
  return error instanceof QueueDoesNotExist || (error as { name?: string })?.name === 'QueueDoesNotExist' || (error as { Code?: string })?.Code === 'AWS.SimpleQueueService.NonExistentQueue';
}
