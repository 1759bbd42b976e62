import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Instance } from '../../../../shared/domain/instance.js';
import { BadRequest, NotFound } from '../../../../shared/errors.js';
import { getInstance } from '../../../../shared/store/instances.js';
import { getAction, listActions, projectOfDeleted, type InstanceAction } from '../../../../shared/store/instance-actions.js';
import { json, parseQuery } from '../../http/body.js';
import { nextLinks, pageOf } from '../links.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { isAdmin } from '../../identity/token-context.js';
import { loadInstance } from '../server-access.js';

const BASE = '/compute/v2.1/servers/{server_id}/os-instance-actions';

/** Nova's timestamps here: no zone, microseconds ("2018-04-25T01:26:29.092892"). */
export const novaTime = (iso: string | null) => (iso ? iso.replace(/Z$/, '').replace(/\.(\d{1,6})$/, (_m, f: string) => `.${f.padEnd(6, '0')}`) : null);

function actionView(req: ApiRequest, a: InstanceAction) {
  return {
    // 2.58 adds when it last changed.
    ...(req.microversion.atLeast('2.58') && { updated_at: novaTime(a.updated_at) }),
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
async function serverOfActions(req: ApiRequest): Promise<{ id: string; instance?: Instance }> {
  try {
    const instance = await loadInstance(req);
    return { id: instance.id, instance };
  } catch (err) {
    const id = req.params.server_id;
    if (!(err instanceof NotFound) || !req.microversion.atLeast('2.21') || !z.string().uuid().safeParse(id).success) throw err;
    if (await getInstance(id)) throw err; // there, but another project's
    const actions = await listActions(id);
    const visible = actions.length > 0 && (isAdmin(req.auth) || projectOfDeleted(actions) === req.auth.project_id);
    if (!visible) throw err;
    return { id };
  }
}

const TimeParam = z.string().refine((t) => ISO_8601.test(t) && !Number.isNaN(Date.parse(t)), 'is not a date-time');
/** 2.58's query: paging and changes-since, nothing else; 2.66 adds changes-before. */
const ListQueryV258 = z.strictObject({ limit: z.string().optional(), marker: z.string().optional(), 'changes-since': TimeParam.optional() });
const ListQueryV266 = ListQueryV258.extend({ 'changes-before': TimeParam.optional() });
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/**
 * GET …/os-instance-actions: the server's actions, newest first. From 2.58 they page
 * (limit, marker = a request id, a `links` next link) and filter on when they last changed
 * (changes-since; 2.66 changes-before), and the query takes nothing else.
 */
async function listInstanceActions(req: ApiRequest): Promise<ApiResponse> {
  const { id: serverId } = await serverOfActions(req);
  let actions = await listActions(serverId);
  if (!req.microversion.atLeast('2.58')) return json(200, { instanceActions: actions.map((a) => actionView(req, a)) });

  const query: z.infer<typeof ListQueryV266> = parseQuery(req, req.microversion.atLeast('2.66') ? ListQueryV266 : ListQueryV258);
  const since = query['changes-since'] ? Date.parse(query['changes-since']) : undefined;
  const before = query['changes-before'] ? Date.parse(query['changes-before']) : undefined;
  if (since !== undefined && before !== undefined && before < since) throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  if (since !== undefined) actions = actions.filter((a) => Date.parse(a.updated_at) >= since);
  if (before !== undefined) actions = actions.filter((a) => Date.parse(a.updated_at) <= before);
  const page = pageOf(req.query);
  if (page.marker) {
    const at = actions.findIndex((a) => a.request_id === page.marker);
    if (at < 0) throw new BadRequest(`Marker ${page.marker} could not be found.`);
    actions = actions.slice(at + 1);
  }
  actions = actions.slice(0, page.limit);
  const links = nextLinks(req, `servers/${serverId}/os-instance-actions`, page, actions.map((a) => a.request_id));
  return json(200, { instanceActions: actions.map((a) => actionView(req, a)), ...(links && { links }) });
}

/**
 * GET …/os-instance-actions/{request_id}: one action. Its events: below 2.51 for admins only
 * (Nova's os-instance-actions:events policy), with their tracebacks; from 2.51 for the project
 * too, without them. 2.62 adds each event's hostId (and its host, for admins), 2.84 its details
 * (the failure's message). An event ran on the server's host: the host shown is the one it has now.
 */
async function showInstanceAction(req: ApiRequest): Promise<ApiResponse> {
  const { id: serverId, instance } = await serverOfActions(req);
  const requestId = req.params.request_id;
  const action = await getAction(serverId, requestId, false);
  if (!action) throw new NotFound(`Action for request_id ${requestId} on instance ${serverId} not found`);
  const view: Record<string, unknown> = actionView(req, action);
  const mv = req.microversion;
  const admin = isAdmin(req.auth);
  if (admin || mv.atLeast('2.51')) {
    const host = instance?.host ?? null;
    const hostId = host ? createHash('sha224').update((action.project_id || instance!.project_id) + host).digest('hex') : '';
    view.events = Object.values(action.events)
      .sort((a, b) => a.start_time.localeCompare(b.start_time))
      .map((e) => ({
        event: e.event,
        start_time: novaTime(e.start_time),
        finish_time: novaTime(e.finish_time),
        result: e.result,
        ...(admin && { traceback: e.traceback }),
        ...(admin && mv.atLeast('2.62') && { host }),
        ...(mv.atLeast('2.62') && { hostId }),
        ...(mv.atLeast('2.84') && { details: e.result === 'Error' ? e.traceback : null }),
      }));
  }
  return json(200, { instanceAction: view });
}

export const instanceActionRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listInstanceActions },
  { method: 'GET', path: `${BASE}/{request_id}`, service: 'compute', handler: showInstanceAction },
];
