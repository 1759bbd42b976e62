import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { queues } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { deadLetterQueueName } from '../../../shared/resources.js';
import { getActivity } from '../../../shared/store/service-activity.js';

/**
 * The control plane's nova-scheduler and nova-conductor, shown in os-services as the install
 * guides print them. They are functions fed by queues, not processes with heartbeats, so their
 * state comes from the queues: `down` when messages have been waiting while nothing was finished
 * for longer than the service down time, or when messages went to the dead-letter queue
 * (failed too often to be retried); `up` otherwise, idle included.
 */
export const CONTROL_HOST = 'control-plane';
const CONTROL_ZONE = 'internal';

export const CONTROL_BINARIES = ['nova-scheduler', 'nova-conductor'] as const;

const queueUrlOf = (binary: (typeof CONTROL_BINARIES)[number]) => (binary === 'nova-scheduler' ? config().SCHEDULER_QUEUE_URL : config().CONDUCTOR_QUEUE_URL);
/** The dead-letter queue sits beside its queue, under the queue's name with `-dlq`. */
const deadLetterUrlOf = (url: string) => url.replace(/[^/]+$/, (name) => deadLetterQueueName(name));

async function messagesIn(queueUrl: string): Promise<number> {
  const out = await queues().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export interface ControlServiceState {
  id: number;
  binary: (typeof CONTROL_BINARIES)[number];
  host: string;
  zone: string;
  state: 'up' | 'down';
  updatedAt: string | null;
}

/** Down when messages wait and nothing was finished for longer than the down time, or when some failed for good. */
export function stateOf(signals: { waiting: number; deadLetters: number; lastFinishedAt: string | null }, now: number, downTimeSeconds: number): 'up' | 'down' {
  const idleFor = signals.lastFinishedAt ? now - Date.parse(signals.lastFinishedAt) : Infinity;
  const stuck = signals.waiting > 0 && idleFor > downTimeSeconds * 1000;
  return stuck || signals.deadLetters > 0 ? 'down' : 'up';
}

export async function controlServiceState(binary: (typeof CONTROL_BINARIES)[number], now = Date.now()): Promise<ControlServiceState> {
  const url = queueUrlOf(binary);
  const [activity, waiting, deadLetters] = await Promise.all([getActivity(binary), messagesIn(url), messagesIn(deadLetterUrlOf(url))]);
  const state = stateOf({ waiting, deadLetters, lastFinishedAt: activity.lastFinishedAt }, now, config().SERVICE_DOWN_TIME);
  return { id: activity.id, binary, host: CONTROL_HOST, zone: CONTROL_ZONE, state, updatedAt: activity.lastFinishedAt };
}
