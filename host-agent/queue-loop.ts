import type { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { HostCommandSchema, type HostCommand } from '../shared/messages/host.js';

export interface QueueLoopOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Runs one command; resolves once its report was sent, rejects to have it delivered again. */
  handle: (command: HostCommand, log: Logger) => Promise<void>;
  log: Logger;
  /** Messages held at once; the loop stops receiving while it holds this many. */
  maxInFlight: number;
  /** How long a received command stays hidden (set on each receive); a command still running is kept hidden for this long again. */
  visibilityTimeoutSeconds: number;
  waitTimeSeconds?: number;
}

const MAX_MESSAGES_PER_RECEIVE = 10;
const RECEIVE_ERROR_BACKOFF_MS = 5_000;
/** A failed command comes back after this (doubling per delivery, capped at the visibility timeout). */
const RETRY_DELAY_SECONDS = 5;
const LOGGED_BODY_CHARS = 500;

/**
 * The agent's consumer of its own queue: long-polls, validates each command against the
 * contract, runs it, and deletes it only once its report was sent. An invalid command is
 * logged and deleted (it would never become valid); a failed one comes back later.
 */
export class QueueLoop {
  private readonly inFlight = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;

  constructor(private readonly options: QueueLoopOptions) {}

  /** Runs until the signal aborts, then waits for the current poll and the commands in progress. */
  async run(signal: AbortSignal): Promise<void> {
    const { log } = this.options;
    const onStop = () => log.info('stopping: waiting for the current poll to end', { wait_seconds: this.options.waitTimeSeconds ?? 20 });
    signal.addEventListener('abort', onStop, { once: true });
    log.info('polling for commands', { queue_url: this.options.queueUrl });
    while (!signal.aborted) {
      await this.waitForFreeSlot(signal);
      if (signal.aborted) break;
      let messages: Message[];
      try {
        messages = await this.receive();
      } catch (error) {
        if (signal.aborted) break;
        log.error('could not receive commands, retrying', { error: error as Error });
        await sleep(RECEIVE_ERROR_BACKOFF_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (signal.aborted) {
        // Received after the stop: hand them back at once rather than run them.
        await Promise.all(messages.map((message) => this.changeVisibility(message, 0, log)));
        break;
      }
      for (const message of messages) this.track(this.process(message));
    }
    if (this.inFlight.size > 0) log.info('stopped polling, finishing commands in progress', { in_flight: this.inFlight.size });
    await Promise.allSettled([...this.inFlight]);
    signal.removeEventListener('abort', onStop);
    log.info('stopped polling for commands');
  }

  /**
   * Not aborted on stop: SQS may still hand messages to a poll whose connection was closed,
   * and those would stay hidden for a whole visibility timeout. A stop waits for the poll.
   */
  private async receive(): Promise<Message[]> {
    const free = this.options.maxInFlight - this.inFlight.size;
    const result = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        WaitTimeSeconds: this.options.waitTimeSeconds ?? 20,
        MaxNumberOfMessages: Math.min(MAX_MESSAGES_PER_RECEIVE, free),
        VisibilityTimeout: this.options.visibilityTimeoutSeconds,
        // The local SQS emulator ignores the newer MessageSystemAttributeNames.
        AttributeNames: ['ApproximateReceiveCount' as QueueAttributeName],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return result.Messages ?? [];
  }

  private async process(message: Message): Promise<void> {
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const command = parseCommand(message.Body);
    if (!command.ok) {
      this.options.log.error('invalid command, deleting it', {
        message_id: message.MessageId,
        problem: command.problem,
        body: (message.Body ?? '').slice(0, LOGGED_BODY_CHARS),
      });
      await this.deleteMessage(message, this.options.log);
      return;
    }

    const log = this.options.log.createChild({
      persistentKeys: { request_id: command.value.request_id, instance_id: instanceIdOf(command.value), command: command.value.type },
    });
    if (receiveCount > 1) log.info('command delivered again', { receive_count: receiveCount });
    const keepHidden = this.keepHidden(message, log);
    try {
      await this.options.handle(command.value, log);
    } catch (error) {
      clearInterval(keepHidden);
      const retryInSeconds = Math.min(RETRY_DELAY_SECONDS * 2 ** (receiveCount - 1), this.options.visibilityTimeoutSeconds);
      log.error('command failed, it will be delivered again', { error: error as Error, receive_count: receiveCount, retry_in_seconds: retryInSeconds });
      await this.changeVisibility(message, retryInSeconds, log);
      return;
    }
    clearInterval(keepHidden);
    await this.deleteMessage(message, log);
  }

  /** Long builds outlast the visibility timeout: extend it while the command runs. */
  private keepHidden(message: Message, log: Logger): NodeJS.Timeout {
    const every = (this.options.visibilityTimeoutSeconds * 1000) / 2;
    return setInterval(() => void this.changeVisibility(message, this.options.visibilityTimeoutSeconds, log), every);
  }

  private async changeVisibility(message: Message, seconds: number, log: Logger): Promise<void> {
    try {
      await this.options.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: seconds }),
      );
    } catch (error) {
      log.warn('could not change the visibility of a command', { error: error as Error });
    }
  }

  private async deleteMessage(message: Message, log: Logger): Promise<void> {
    try {
      await this.options.sqs.send(new DeleteMessageCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    } catch (error) {
      // The command will come back; handlers are idempotent and report the same outcome again.
      log.error('could not delete a finished command', { error: error as Error });
    }
  }

  private track(task: Promise<void>): void {
    this.inFlight.add(task);
    void task
      .catch((error: unknown) => this.options.log.error('unexpected error processing a command', { error: error as Error }))
      .finally(() => {
        this.inFlight.delete(task);
        this.slotFreed?.();
      });
  }

  private async waitForFreeSlot(signal: AbortSignal): Promise<void> {
    while (this.inFlight.size >= this.options.maxInFlight && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.slotFreed = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.slotFreed = undefined;
    }
  }
}

type Parsed = { ok: true; value: HostCommand } | { ok: false; problem: string };

function parseCommand(body: string | undefined): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch (error) {
    return { ok: false, problem: `not JSON: ${(error as Error).message}` };
  }
  const parsed = HostCommandSchema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problem: z.prettifyError(parsed.error) };
}

function instanceIdOf(command: HostCommand): string | undefined {
  if (command.type === 'spawn') return command.guest.instance_id;
  return 'instance_id' in command ? command.instance_id : undefined;
}
