import { createHash } from 'node:crypto';
import { z } from 'zod';
import { enforceable } from '../../../shared/domain/quota.js';
import { projectLimits } from '../../../shared/store/quota-limits.js';
import type { Keypair } from '../../../shared/domain/keypair.js';
import { BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded } from '../../../shared/errors.js';
import { createKeypair, deleteKeypair, getKeypair, listKeypairs } from '../../../shared/store/keypairs.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { isAdmin } from '../identity/token-context.js';
import { generateSshKeypair, InvalidKeypair, sshFingerprint, x509Fingerprint } from './keypair-crypto.js';
import { nextLinks, pageOf } from './links.js';
import { rejectUnknownQuery } from './query-params.js';

/**
 * Key pairs, per user. Microversions: 2.2 adds `type` (ssh or x509) and answers 201/204 instead
 * of 200/202; 2.10 lets an admin act on another user's key pairs with `user_id`; 2.35 pages the
 * list with `limit` and `marker` (a key pair name); 2.75 rejects unknown query parameters; 2.92
 * requires `public_key` (no more generation: clients generate the key themselves) and allows
 * '@' and '.' in names.
 */
const BASE = '/compute/v2.1/os-keypairs';

/** Name: 1–255 characters, no leading or trailing whitespace (schema), only these characters (Nova's compute API). */
const KeypairName = z.string().min(1).max(255).regex(/^\S(.*\S)?$/s, 'must not start or end with whitespace');

export function checkKeypairName(name: string, allowAtAndDot = false): void {
  const safe = allowAtAndDot ? /^[A-Za-z0-9_\-@. ]*$/ : /^[A-Za-z0-9_\- ]*$/;
  if (!safe.test(name)) throw new InvalidKeypair('Keypair name contains unsafe characters');
  if (name.length < 1 || name.length > 255) throw new InvalidKeypair('Keypair name must be string and between 1 and 255 characters long');
}

const CreateSchema = z.strictObject({
  keypair: z.strictObject({
    name: KeypairName,
    public_key: z.string().optional(),
    type: z.enum(['ssh', 'x509']).optional(),
    user_id: z.string().optional(),
  }),
});

/** The fingerprint of an imported key, which also proves the key is well formed. */
export function fingerprintOf(type: Keypair['key_type'], publicKey: string): string {
  return type === 'x509' ? x509Fingerprint(publicKey) : sshFingerprint(publicKey);
}

/** The user whose key pairs a request acts on: the caller, or (2.10, admins) `user_id`. */
function targetUser(req: ApiRequest, rule: string, requested: string | undefined): string {
  if (requested === undefined || !req.microversion.atLeast('2.10') || requested === req.auth.user_id) return req.auth.user_id;
  if (!isAdmin(req.auth)) throw new Forbidden(`Policy doesn't allow ${rule} to be performed.`);
  return requested;
}

/** The query parameters of list (with the 2.35 paging ones), show and delete; strict from 2.75. */
function queryUser(req: ApiRequest, paging = false): string | undefined {
  rejectUnknownQuery(req, paging ? ['user_id', 'limit', 'marker'] : ['user_id']);
  return req.query.get('user_id') ?? undefined;
}

function keypairView(req: ApiRequest, kp: Keypair) {
  return {
    name: kp.name,
    public_key: kp.public_key,
    fingerprint: kp.fingerprint,
    ...(req.microversion.atLeast('2.2') && { type: kp.key_type }),
  };
}

/** Fields a microversion does not have are rejected as Nova's schema rejects unknown properties. */
function rejectNewerFields(req: ApiRequest, body: Record<string, unknown>): void {
  for (const [field, version] of [['type', '2.2'], ['user_id', '2.10']] as const) {
    if (body[field] !== undefined && !req.microversion.atLeast(version)) {
      throw new BadRequest(`Invalid input for field/attribute keypair. Value: Additional properties are not allowed ('${field}' was unexpected)`);
    }
  }
}

async function create(req: ApiRequest) {
  const body = parseBody(req, CreateSchema).keypair;
  rejectNewerFields(req, body);
  const v292 = req.microversion.atLeast('2.92');
  if (v292 && body.public_key === undefined) throw new BadRequest(`Invalid input for field/attribute keypair. Value: ${JSON.stringify(body)}. 'public_key' is a required property`);
  const userId = targetUser(req, 'os_compute_api:os-keypairs:create', body.user_id);
  const keyType = body.type ?? 'ssh';
  checkKeypairName(body.name, v292);
  const limit = enforceable((await projectLimits(req.auth.project_id)).key_pairs);
  if ((await listKeypairs(userId)).length >= limit) throw new QuotaExceeded('Quota exceeded, too many key pairs.');

  let publicKey = body.public_key;
  let privateKey: string | undefined;
  let fingerprint: string;
  if (publicKey !== undefined) {
    fingerprint = fingerprintOf(keyType, publicKey);
  } else if (keyType === 'x509') {
    throw new InvalidKeypair('generating x509 key pairs is not supported here; import a certificate with public_key');
  } else {
    ({ publicKey, privateKey, fingerprint } = generateSshKeypair());
  }

  const keypair: Keypair = {
    name: body.name,
    user_id: userId,
    key_type: keyType,
    public_key: publicKey,
    fingerprint,
    created_at: new Date().toISOString(),
  };
  if (!(await createKeypair(keypair))) throw new Conflict(`Key pair '${body.name}' already exists.`);
  // Nova's quota recheck: two concurrent creates may both have passed the count above.
  if ((await listKeypairs(userId)).length > limit) {
    await deleteKeypair(userId, keypair.name);
    throw new QuotaExceeded('Quota exceeded, too many key pairs.');
  }
  const view = { ...keypairView(req, keypair), user_id: userId, ...(privateKey !== undefined && { private_key: privateKey }) };
  return json(req.microversion.atLeast('2.2') ? 201 : 200, { keypair: view });
}

async function list(req: ApiRequest) {
  const userId = targetUser(req, 'os_compute_api:os-keypairs:index', queryUser(req, true));
  let keypairs = await listKeypairs(userId);
  if (!req.microversion.atLeast('2.35')) return json(200, { keypairs: keypairs.map((kp) => ({ keypair: keypairView(req, kp) })) });
  const page = pageOf(req.query);
  if (page.marker !== undefined) {
    const at = keypairs.findIndex((kp) => kp.name === page.marker);
    if (at < 0) throw new BadRequest(`Marker ${page.marker} could not be found.`);
    keypairs = keypairs.slice(at + 1);
  }
  keypairs = keypairs.slice(0, page.limit);
  const links = nextLinks(req, 'os-keypairs', page, keypairs.map((kp) => kp.name));
  return json(200, { keypairs: keypairs.map((kp) => ({ keypair: keypairView(req, kp) })), ...(links && { keypairs_links: links }) });
}

async function load(req: ApiRequest, rule: string): Promise<Keypair> {
  const userId = targetUser(req, rule, queryUser(req));
  const name = req.params.keypair_name;
  const keypair = await getKeypair(userId, name);
  if (!keypair) throw new NotFound(`Keypair ${name} not found for user ${userId}`);
  return keypair;
}

/**
 * The integer `id` of a key pair's detail. Nova's is its database row id, which no call takes; here
 * it is derived from the key pair's identity (user, name, creation time): stable for its life, not
 * sequential.
 */
export function keypairId(kp: Keypair): number {
  return createHash('sha256').update(`${kp.user_id}\0${kp.name}\0${kp.created_at}`).digest().readUInt32BE(0) >>> 1;
}

async function show(req: ApiRequest) {
  const kp = await load(req, 'os_compute_api:os-keypairs:show');
  return json(200, {
    keypair: { ...keypairView(req, kp), user_id: kp.user_id, created_at: kp.created_at, updated_at: null, deleted: false, deleted_at: null, id: keypairId(kp) },
  });
}

async function remove(req: ApiRequest) {
  const userId = targetUser(req, 'os_compute_api:os-keypairs:delete', queryUser(req));
  const name = req.params.keypair_name;
  if (!(await deleteKeypair(userId, name))) throw new NotFound(`Keypair ${name} not found for user ${userId}`);
  return json(req.microversion.atLeast('2.2') ? 204 : 202);
}

export const keypairRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: list },
  { method: 'POST', path: BASE, service: 'compute', handler: create },
  { method: 'GET', path: `${BASE}/{keypair_name}`, service: 'compute', handler: show },
  { method: 'DELETE', path: `${BASE}/{keypair_name}`, service: 'compute', handler: remove },
];
