import { z } from 'zod';
import { NotFound } from '../../../../shared/errors.js';
import { getInstance } from '../../../../shared/store/instances.js';
import { getAction, listActions, projectOfDeleted, type InstanceAction } from '../../../../shared/store/instance-actions.js';
import { json } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { loadInstance } from '../server-access.js';

const BASE = '/compute/v2.1/servers/{server_id}/os-instance-actions';

/** Nova's timestamps here: no zone, microseconds ("2018-04-25T01:26:29.092892"). */
export const novaTime = (iso: string | null) => (iso ? iso.replace(/Z$/, '').replace(/\.(\d{1,6})$/, (_m, f: string) => `.${f.padEnd(6, '0')}`) : null);

function actionView(a: InstanceAction) {
  return {
    action: a.action,
    instance_uuid: a.instance_uuid,
    message: a.message,
    project_id: a.project_id,
    request_id: a.request_id,
    start_time: novaTime(a.start_time),
    user_id: a.user_id,
  };
}

/**
 * The id of the server whose actions are asked for. From microversion 2.21 a deleted server's
 * actions can be read too (Nova reads with read_deleted=yes), for as long as they are kept, by
 * admins and by the project the server belonged to; before, a deleted server is a 404.
 */
async function serverOfActions(req: ApiRequest): Promise<string> {
  try {
    return (await loadInstance(req)).id;
  } catch (err) {
    const id = req.params.server_id;
    if (!(err instanceof NotFound) || !req.microversion.atLeast('2.21') || !z.string().uuid().safeParse(id).success) throw err;
    if (await getInstance(id)) throw err; // there, but another project's
    const actions = await listActions(id);
    const visible = actions.length > 0 && (isAdmin(req.auth) || projectOfDeleted(actions) === req.auth.project_id);
    if (!visible) throw err;
    return id;
  }
}

/** GET …/os-instance-actions: the server's actions, newest first. */
async function listInstanceActions(req: ApiRequest): Promise<ApiResponse> {
  const serverId = await serverOfActions(req);
  return json(200, { instanceActions: (await listActions(serverId)).map(actionView) });
}

/**
 * GET …/os-instance-actions/{request_id}: one action. Below microversion 2.51 its events are
 * shown to admins only (Nova's os-instance-actions:events policy), with their tracebacks.
 */
async function showInstanceAction(req: ApiRequest): Promise<ApiResponse> {
  const serverId = await serverOfActions(req);
  const requestId = req.params.request_id;
  const action = await getAction(serverId, requestId, false);
  if (!action) throw new NotFound(`Action for request_id ${requestId} on instance ${serverId} not found`);
  const view: Record<string, unknown> = actionView(action);
  if (isAdmin(req.auth)) {
    view.events = Object.values(action.events)
      .sort((a, b) => a.start_time.localeCompare(b.start_time))
      .map((e) => ({ event: e.event, start_time: novaTime(e.start_time), finish_time: novaTime(e.finish_time), result: e.result, traceback: e.traceback }));
  }
  return json(200, { instanceAction: view });
}

export const instanceActionRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listInstanceActions },
  { method: 'GET', path: `${BASE}/{request_id}`, service: 'compute', handler: showInstanceAction },
];
