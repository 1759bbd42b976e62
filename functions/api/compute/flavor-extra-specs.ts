import { z } from 'zod';
import { BadRequest, NotFound } from '../../../shared/errors.js';
import { deleteExtraSpec, setExtraSpecs } from '../../../shared/store/flavors.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { validateExtraSpec } from './extra-specs/extra-spec-validation.js';
import { loadVisibleFlavor } from './flavors.js';
import { authorizeAdmin } from './policy.js';

const BASE = '/compute/v2.1/flavors/{flavor_id}/os-extra_specs';

const SPEC_KEY = /^[a-zA-Z0-9-_:. ]{1,255}$/;

/** Values may be strings, numbers or booleans; Nova stores them as strings, numbers at most 255 characters long. */
const specValue = z
  .union([z.string().max(255), z.number(), z.boolean()])
  .transform((v) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)))
  .pipe(z.string().max(255));

const ExtraSpecsSchema = z.record(z.string().regex(SPEC_KEY), specValue);

const CreateSchema = z.strictObject({ extra_specs: ExtraSpecsSchema });

const UpdateSchema = ExtraSpecsSchema.refine((specs) => Object.keys(specs).length >= 1, 'needs one extra spec');

async function index(req: ApiRequest) {
  const flavor = await loadVisibleFlavor(req, req.params.flavor_id);
  return json(200, { extra_specs: flavor.extra_specs });
}

async function show(req: ApiRequest) {
  const flavor = await loadVisibleFlavor(req, req.params.flavor_id);
  const key = req.params.key;
  if (!Object.hasOwn(flavor.extra_specs, key)) throw new NotFound(`Flavor ${flavor.id} has no extra specs with key ${key}.`);
  return json(200, { [key]: flavor.extra_specs[key] });
}

/** From 2.86 the known extra specs are validated as Nova validates them (extra-specs/extra-spec-validation.ts). */
function checkKnownSpecs(req: ApiRequest, specs: Record<string, string>): void {
  if (!req.microversion.atLeast('2.86')) return;
  for (const [name, value] of Object.entries(specs)) validateExtraSpec(name, value);
}

async function create(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-flavor-extra-specs:create');
  const flavor = await loadVisibleFlavor(req, req.params.flavor_id);
  const specs = parseBody(req, CreateSchema).extra_specs;
  checkKnownSpecs(req, specs);
  if (!(await setExtraSpecs(flavor.id, specs))) throw new NotFound(`Flavor ${flavor.id} could not be found.`);
  return json(200, { extra_specs: specs });
}

async function update(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-flavor-extra-specs:update');
  const flavor = await loadVisibleFlavor(req, req.params.flavor_id);
  const specs = parseBody(req, UpdateSchema);
  const keys = Object.keys(specs);
  if (keys.length > 1) throw new BadRequest('Request body contains too many items');
  if (keys[0] !== req.params.key) throw new BadRequest('Request body and URI mismatch');
  checkKnownSpecs(req, specs);
  if (!(await setExtraSpecs(flavor.id, specs))) throw new NotFound(`Flavor ${flavor.id} could not be found.`);
  return json(200, specs);
}

async function remove(req: ApiRequest) {
  authorizeAdmin(req, 'os_compute_api:os-flavor-extra-specs:delete');
  const flavor = await loadVisibleFlavor(req, req.params.flavor_id);
  const key = req.params.key;
  if (!(await deleteExtraSpec(flavor.id, key))) throw new NotFound(`Flavor ${flavor.id} has no extra specs with key ${key}.`);
  return json(200);
}

export const flavorExtraSpecsRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: index },
  { method: 'POST', path: BASE, service: 'compute', handler: create },
  { method: 'GET', path: `${BASE}/{key}`, service: 'compute', handler: show },
  { method: 'PUT', path: `${BASE}/{key}`, service: 'compute', handler: update },
  { method: 'DELETE', path: `${BASE}/{key}`, service: 'compute', handler: remove },
];
