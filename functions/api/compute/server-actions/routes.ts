import { BadRequest, NotFound } from '../../../../shared/errors.js';
import { parseBody } from '../../http/body.js';
import { z } from 'zod';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { consoleOutputActions } from './console-output.js';
import { createBackupActions } from './create-backup.js';
import { createImageActions } from './create-image.js';
import { deferredDeleteActions } from './deferred-delete.js';
import { floatingIpActions } from './floating-ip-actions.js';
import { instanceActionRoutes } from './instance-actions.js';
import { lockServerActions } from './lock-server.js';
import { pauseServerActions } from './pause-server.js';
import { migrateServerActions } from './migrate-server.js';
import { rebuildServerActions } from './rebuild-server.js';
import { resizeServerActions } from './resize-server.js';
import { rescueServerActions } from './rescue-server.js';
import { resetStateActions } from './reset-state.js';
import { securityGroupActions } from './security-group-actions.js';
import { remoteConsoleActions } from './remote-console-actions.js';
import type { ServerAction } from './server-action.js';
import { shelveServerActions } from './shelve-server.js';
import { unshelveServerActions } from './shelve-unshelve.js';
import { serverPowerActions } from './server-power.js';
import { serverRebootActions } from './server-reboot.js';
import { suspendServerActions } from './suspend-server.js';
import { triggerCrashDumpActions } from './trigger-crash-dump.js';

/** Every action `POST /servers/{id}/action` knows, by the body key that names it. Adding a family is adding its list here. */
const ACTIONS = new Map<string, ServerAction>(
  [
    ...serverPowerActions,
    ...serverRebootActions,
    ...pauseServerActions,
    ...suspendServerActions,
    ...lockServerActions,
    ...consoleOutputActions,
    ...remoteConsoleActions,
    ...rebuildServerActions,
    ...resizeServerActions,
    ...migrateServerActions,
    ...rescueServerActions,
    ...resetStateActions,
    ...shelveServerActions,
    ...unshelveServerActions,
    ...createImageActions,
    ...createBackupActions,
    ...triggerCrashDumpActions,
    ...deferredDeleteActions,
    ...securityGroupActions,
    ...floatingIpActions,
  ].map((a) => [a.name, a]),
);

/** `POST /servers/{server_id}/action`: the body's single key names the action (Nova: 404 for an unknown one). */
async function serverAction(req: ApiRequest): Promise<ApiResponse> {
  const body = parseBody(req, z.record(z.string(), z.unknown()));
  const names = Object.keys(body);
  if (names.length !== 1) throw new BadRequest('Malformed request body: an action body has exactly one key, the action.');
  const action = ACTIONS.get(names[0]);
  if (!action) throw new NotFound(`There is no such action: ${names[0]}`);
  return action.handle(req, body[names[0]]);
}

export const serverActionRoutes: Route[] = [
  { method: 'POST', path: '/compute/v2.1/servers/{server_id}/action', service: 'compute', handler: serverAction },
  ...instanceActionRoutes,
];
