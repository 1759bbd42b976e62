import { RouterNotFound } from '../../domain/network/errors.js';
import { RouterSchema, type Router } from '../../domain/network/router.js';
import type { Port } from '../../domain/network/port.js';
import { deletePort, listDevicePorts } from './ports.js';
import { consumeQuota, releaseQuota } from './quota.js';
import { deleteResource, getResource, listResources, putResource, updateResource } from './resource-table.js';
import { runSteps, type Step } from './transaction.js';

export const getRouter = (id: string) => getResource('ROUTER', id, RouterSchema);
export const listRouters = () => listResources('ROUTER', RouterSchema);
/** The router's ports (interfaces and gateway): ports whose device is the router. */
export const listRouterPorts = (routerId: string) => listDevicePorts(routerId);

export async function requireRouter(id: string): Promise<Router> {
  const router = await getRouter(id);
  if (!router) throw new RouterNotFound(id);
  return router;
}

export async function createRouter(router: Router): Promise<Router> {
  await runSteps([consumeQuota(router.project_id, 'router'), { item: putResource('ROUTER', router) }]);
  return router;
}

/**
 * Changes a router from the revision read, with `extraSteps` in the same transaction (a port
 * freed, a port moved onto it). Every change of its ports goes through here, so the revision
 * bump is what serialises them against each other and against the router's deletion.
 */
export async function updateRouter(current: Router, changes: Partial<Router>, extraSteps: Step[] = []): Promise<Router> {
  await runSteps([{ item: updateResource('ROUTER', current, changes) }, ...extraSteps]);
  return { ...current, ...changes, revision_number: current.revision_number + 1, updated_at: new Date().toISOString() };
}

/**
 * Records a port made for the router (an interface, a gateway) with a revision bump of the router
 * and `changes`. If the router changed or went away since it was read, the port is deleted again
 * and the error raised: no port is left behind on a router that does not know it.
 */
export async function recordNewRouterPort(current: Router, port: Port, changes: Partial<Router> = {}, extraSteps: Step[] = []): Promise<Router> {
  try {
    return await updateRouter(current, changes, extraSteps);
  } catch (err) {
    await deletePort(port);
    throw err;
  }
}

/** Removes the router and its quota, with its gateway port's removal (`extraSteps`) in the same transaction. */
export const deleteRouter = (router: Router, extraSteps: Step[] = []) =>
  runSteps([{ item: deleteResource('ROUTER', router) }, releaseQuota(router.project_id, 'router'), ...extraSteps]);
