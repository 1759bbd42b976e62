import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Flavor } from '../../../shared/domain/flavor.js';
import { Conflict, NotFound } from '../../../shared/errors.js';
import { createFlavor, deleteFlavor, getFlavor, setFlavorDescription } from '../../../shared/store/flavors.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { flavorView } from './flavors.js';
import { authorizeAdmin } from './policy.js';

const MAX_INT = 2147483647;

/** Nova's flavor_param_positive / _non_negative: an integer, or a string of digits. */
const flavorInt = (min: number) =>
  z.union([z.number().int(), z.string().regex(/^[0-9]+$/).transform(Number)]).pipe(z.number().int().min(min).max(MAX_INT));

/** Nova's parameter_types.boolean: JSON booleans and the usual strings. */
export const novaBoolean = z.union([
  z.boolean(),
  z
    .enum(['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'])
    .transform((v) => ['true', '1', 'on', 'yes', 'y', 't'].includes(v.toLowerCase())),
]);

/** Printable, 1–255 characters, no leading or trailing whitespace (Nova's parameter_types.name). */
const displayName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^\S(.*\S)?$/s, 'must not start or end with whitespace')
  .refine((s) => !/[\p{Cc}\p{Cs}]/u.test(s), 'must be printable');

/** Nova's flavor description (2.55): printable text (spaces and tabs of Zs allowed), at most 65535 characters, or null. */
const Description = z
  .string()
  .max(65535)
  .refine((s) => !/[\p{C}\p{Zl}\p{Zp}]/u.test(s), 'must be printable')
  .nullable();

const FlavorCreateSchema = z.strictObject({
  flavor: z.strictObject({
    name: displayName,
    id: z
      .union([z.string().min(1).max(255).regex(/^(?! )[a-zA-Z0-9. _-]+(?<! )$/), z.number().transform(String), z.null()])
      .optional(),
    ram: flavorInt(1),
    vcpus: flavorInt(1),
    disk: flavorInt(0),
    'OS-FLV-EXT-DATA:ephemeral': flavorInt(0).optional(),
    swap: flavorInt(0).optional(),
    rxtx_factor: z
      .union([z.number(), z.string().regex(/^[0-9]+(\.[0-9]+)?$/).transform(Number)])
      .pipe(z.number().gt(0).max(3.40282e38))
      .optional(),
    'os-flavor-access:is_public': novaBoolean.optional(),
  }),
});
const FlavorCreateSchemaV255 = z.strictObject({ flavor: FlavorCreateSchema.shape.flavor.extend({ description: Description.optional() }) });

const FlavorUpdateSchema = z.strictObject({ flavor: z.strictObject({ description: Description }) });

async function create(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-flavor-manage:create');
  const body: z.infer<typeof FlavorCreateSchemaV255>['flavor'] = parseBody(req, req.microversion.atLeast('2.55') ? FlavorCreateSchemaV255 : FlavorCreateSchema).flavor;
  const flavor: Flavor = {
    id: body.id ?? randomUUID(),
    name: body.name,
    vcpus: body.vcpus,
    ram: body.ram,
    disk: body.disk,
    ephemeral: body['OS-FLV-EXT-DATA:ephemeral'] ?? 0,
    swap: body.swap ?? 0,
    rxtx_factor: body.rxtx_factor ?? 1,
    is_public: body['os-flavor-access:is_public'] ?? true,
    disabled: false,
    description: body.description ?? null,
    extra_specs: {},
    created_at: new Date().toISOString(),
  };
  const result = await createFlavor(flavor);
  if (!result.created) {
    throw new Conflict(
      result.conflict === 'id' ? `Flavor with ID ${flavor.id} already exists.` : `Flavor with name ${flavor.name} already exists.`,
    );
  }
  return json(200, { flavor: flavorView(req, flavor) });
}

/** PUT (2.55): only the description can change. */
async function update(req: ApiRequest) {
  if (!req.microversion.atLeast('2.55')) throw new NotFound('The resource could not be found.');
  authorizeAdmin(req, 'os_compute_api:os-flavor-manage:update');
  const { description } = parseBody(req, FlavorUpdateSchema).flavor;
  const id = req.params.flavor_id;
  const flavor = await setFlavorDescription(id, description);
  if (!flavor) throw new NotFound(`Flavor ${id} could not be found.`);
  return json(200, { flavor: flavorView(req, flavor) });
}

async function remove(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-flavor-manage:delete');
  const id = req.params.flavor_id;
  const flavor = await getFlavor(id);
  if (!flavor || !(await deleteFlavor(flavor))) throw new NotFound(`Flavor ${id} could not be found.`);
  return json(202);
}

export const flavorManageRoutes: Route[] = [
  { method: 'POST', path: '/compute/v2.1/flavors', service: 'compute', handler: create },
  { method: 'PUT', path: '/compute/v2.1/flavors/{flavor_id}', service: 'compute', handler: update },
  { method: 'DELETE', path: '/compute/v2.1/flavors/{flavor_id}', service: 'compute', handler: remove },
];
