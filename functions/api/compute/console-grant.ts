import { config } from '../../../shared/config.js';
import { mintConsoleToken, type ConsoleProtocol } from '../../../shared/console/console-token.js';
import { consoleAccessUrl } from '../../../shared/console/console-url.js';
import type { Instance } from '../../../shared/domain/instance.js';
import { TaskState, VmState } from '../../../shared/domain/instance-states.js';
import { BadRequest, InstanceInvalidState } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { getHost } from '../../../shared/store/hosts.js';
import type { ApiRequest } from '../http/types.js';
import { consoleKeyConfigured, consoleKeys } from './console-key.js';
import { checkHasHost } from './server-actions/guest-task.js';

/** Nova's console protocols (remote-consoles) and the action names its 409s use. */
export type RemoteConsoleProtocol = 'vnc' | 'spice' | 'serial' | 'rdp' | 'mks';

/** The one console type this cloud serves per protocol; the other protocols have none. */
const SERVED_TYPE: Partial<Record<RemoteConsoleProtocol, { type: string; protocol: ConsoleProtocol }>> = {
  vnc: { type: 'novnc', protocol: 'vnc' },
  serial: { type: 'serial', protocol: 'serial' },
};

/**
 * The states in which the guest has a running QEMU, so a console can connect. Nova hands out
 * URLs for stopped or suspended guests that cannot connect; this answers 409 instead.
 */
const CONSOLE_VM_STATES: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED, VmState.RESIZED];
/** Nova's reject_instance_state on the console calls (it has MIGRATING too, which does not exist here). */
const CONSOLE_REFUSED_TASK_STATES: readonly string[] = [TaskState.DELETING];

export interface ConsoleRequest {
  protocol: RemoteConsoleProtocol;
  type: string;
  /** Nova's name of the compute call, as its 409 message gives it (`get_vnc_console`). */
  action: string;
}

/**
 * Opens a console: checks the instance's host and states (409), the protocol and type (400 as
 * Nova's ConsoleTypeUnavailable / ConsoleTypeInvalid), then signs a single-use token for the
 * instance's host and returns the URL on that host's console address. Nothing is sent to the host.
 */
export async function grantConsole(req: ApiRequest, instance: Instance, want: ConsoleRequest): Promise<string> {
  checkHasHost(instance);
  if (instance.task_state && CONSOLE_REFUSED_TASK_STATES.includes(instance.task_state)) {
    throw new InstanceInvalidState(want.action, 'task_state', instance.task_state, instance.id);
  }
  if (!CONSOLE_VM_STATES.includes(instance.vm_state)) throw new InstanceInvalidState(want.action, 'vm_state', instance.vm_state, instance.id);
  const served = SERVED_TYPE[want.protocol];
  if (!served) throw new BadRequest(`Unavailable console type ${want.type}.`);
  if (want.type !== served.type) throw new BadRequest(`Invalid console type ${want.type}`);
  const host = consoleKeyConfigured() ? await getHost(instance.host) : undefined;
  if (!host?.console_url) throw new BadRequest(`Unavailable console type ${want.type}.`);
  const { privateKey } = await consoleKeys();
  const { token, claims } = await mintConsoleToken(
    privateKey,
    { host: instance.host, instanceId: instance.id, protocol: served.protocol, projectId: req.auth.project_id, userId: req.auth.user_id, requestId: req.requestId },
    config().CONSOLE_TOKEN_TTL,
  );
  logger.info('console token issued', { instance_id: instance.id, host: instance.host, protocol: served.protocol, jti: claims.jti, expires_at: new Date(claims.exp * 1000).toISOString() });
  return consoleAccessUrl(host.console_url, served.protocol, token);
}
