import { z } from 'zod';
import { BadRequest, Conflict, NotFound } from '../../../shared/errors.js';
import { addFlavorAccess, getFlavor, listFlavorAccess, removeFlavorAccess } from '../../../shared/store/flavors.js';
import { keys } from '../../../shared/store/keys.js';
import { getItem } from '../../../shared/store/table.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { authorizeAdmin } from './policy.js';

const TenantSchema = z.strictObject({ tenant: z.string().min(1).max(255) });

const ActionSchema = z.union([
  z.strictObject({ addTenantAccess: TenantSchema }),
  z.strictObject({ removeTenantAccess: TenantSchema }),
]);

async function accessView(flavorId: string) {
  const projects = await listFlavorAccess(flavorId);
  return { flavor_access: projects.map((tenant_id) => ({ flavor_id: flavorId, tenant_id })) };
}

async function loadFlavor(id: string) {
  const flavor = await getFlavor(id);
  if (!flavor) throw new NotFound(`Flavor ${id} could not be found.`);
  return flavor;
}

async function index(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-flavor-access');
  const flavor = await loadFlavor(req.params.flavor_id);
  if (flavor.is_public) throw new NotFound('Access list not available for public flavors.');
  return json(200, await accessView(flavor.id));
}

/** Like Nova's verify_project_id: a project the identity service does not know is a 400. */
async function verifyProject(projectId: string) {
  if (!(await getItem(keys.project(projectId)))) throw new BadRequest(`Project ID ${projectId} is not a valid project.`);
}

async function action(req: ApiRequest) {
  const known = ['addTenantAccess', 'removeTenantAccess'];
  const raw = parseBody(req, z.record(z.string(), z.unknown()));
  const name = Object.keys(raw)[0];
  if (!known.includes(name)) throw new BadRequest(`There is no such action: ${name}`);
  const body = parseBody(req, ActionSchema);
  const flavorId = req.params.flavor_id;
  if ('addTenantAccess' in body) {
    authorizeAdmin(req, 'os_compute_api:os-flavor-access:add_tenant_access');
    const tenant = body.addTenantAccess.tenant;
    await verifyProject(tenant);
    const result = await addFlavorAccess(flavorId, tenant);
    if (result === 'no-flavor') throw new NotFound(`Flavor ${flavorId} could not be found.`);
    // Nova's 409 from 2.7 on; below it Nova stores the meaningless grant, which this API has never done.
    if (result === 'public') throw new Conflict('Can not add access to a public flavor.');
    if (result === 'exists') {
      throw new Conflict(`Flavor access already exists for flavor ${flavorId} and project ${tenant} combination.`);
    }
  } else {
    authorizeAdmin(req, 'os_compute_api:os-flavor-access:remove_tenant_access');
    const tenant = body.removeTenantAccess.tenant;
    await loadFlavor(flavorId);
    if (!(await removeFlavorAccess(flavorId, tenant))) {
      throw new NotFound(`Flavor access not found for ${flavorId} / ${tenant} combination.`);
    }
  }
  return json(200, await accessView(flavorId));
}

export const flavorAccessRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/flavors/{flavor_id}/os-flavor-access', service: 'compute', handler: index },
  { method: 'POST', path: '/compute/v2.1/flavors/{flavor_id}/action', service: 'compute', handler: action },
];
