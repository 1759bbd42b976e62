import type { z } from 'zod';
import { ACTION_EVENTS, InstanceActionName } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import type { ConsoleClosedReportSchema, ConsoleOpenedReportSchema } from '../../../shared/messages/conductor.js';
import { finishEvent, newAction, recordAction } from '../../../shared/store/instance-actions.js';
import { getInstance } from '../../../shared/store/instances.js';
import { recordUsedConsoleToken } from '../../../shared/store/used-console-tokens.js';

type ConsoleOpened = z.infer<typeof ConsoleOpenedReportSchema>;
type ConsoleClosed = z.infer<typeof ConsoleClosedReportSchema>;

const EVENT = ACTION_EVENTS[InstanceActionName.CONSOLE]!;

/**
 * The action's request id: the request that asked for the console URL (the token's `rid`), which
 * is one session since a token opens one; a token minted without one gets its own from the jti.
 */
const requestIdOf = (r: ConsoleOpened | ConsoleClosed) => r.request_id ?? `req-${r.jti}`;

/**
 * A host opened a console: its token is used (os-console-auth-tokens answers 404 from now on) and
 * the instance gets a `console` action, by the token's user, whose `compute_console_connect`
 * event runs until the session ends. Repeated or late reports change nothing twice.
 */
export async function onConsoleOpened(report: ConsoleOpened): Promise<void> {
  if (!(await instanceOnHost(report))) return;
  await markUsed(report);
  const recorded = await recordAction(sessionAction(report, null));
  if (recorded) logger.info('console session recorded', { instance_id: report.instance_id, protocol: report.protocol, jti: report.jti, user_id: report.user_id });
}

/**
 * A console session ended: its event finishes at that time. The report may come before its
 * console_opened (SQS keeps no order): then the action is written finished, and the opened
 * report finds it there.
 */
export async function onConsoleClosed(report: ConsoleClosed): Promise<void> {
  const finish = () =>
    finishEvent(report.instance_id, requestIdOf(report), { event: EVENT, start_time: report.opened_at, finish_time: report.closed_at, result: 'Success' });
  // The action exists only if this host's console_opened was accepted (it may be deleted since: the session ended with it).
  if (await finish()) return logSessionEnd(report);
  if (!(await instanceOnHost(report))) return;
  await markUsed(report);
  if (await recordAction(sessionAction(report, report.closed_at))) return logSessionEnd(report);
  // Written meanwhile by its console_opened (or finished by a repeat of this report).
  if (await finish()) logSessionEnd(report);
}

function sessionAction(r: ConsoleOpened | ConsoleClosed, closedAt: string | null) {
  const action = newAction(
    { instanceId: r.instance_id, action: InstanceActionName.CONSOLE, requestId: requestIdOf(r), userId: r.user_id, projectId: r.project_id },
    r.opened_at,
  );
  if (closedAt) action.events[EVENT] = { ...action.events[EVENT], finish_time: closedAt, result: 'Success', done: true };
  return action;
}

async function markUsed(r: ConsoleOpened | ConsoleClosed): Promise<void> {
  await recordUsedConsoleToken({ jti: r.jti, instance_id: r.instance_id, host: r.host, used_at: r.opened_at, expires_at: r.token_expires_at });
}

/**
 * Only the host that runs an instance reports its consoles (another host's report, or a
 * compromised one's, marks nothing used); a gone instance gets no new actions.
 */
async function instanceOnHost(r: ConsoleOpened | ConsoleClosed): Promise<boolean> {
  const instance = await getInstance(r.instance_id);
  if (instance?.host === r.host) return true;
  logger.info('not recording a console session of an instance not on that host', { instance_id: r.instance_id, on: instance?.host ?? null, jti: r.jti });
  return false;
}

function logSessionEnd(r: ConsoleClosed): void {
  const seconds = Math.round((Date.parse(r.closed_at) - Date.parse(r.opened_at)) / 100) / 10;
  logger.info('console session ended', { instance_id: r.instance_id, protocol: r.protocol, jti: r.jti, seconds, ended_by: r.ended_by });
}
