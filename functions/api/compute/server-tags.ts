import { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { VmState } from '../../../shared/domain/instance-states.js';
import { BadRequest, InstanceInvalidState, NotFound } from '../../../shared/errors.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { computeBase } from './links.js';
import { loadInstance, modifyInstance } from './server-access.js';

/** Server tags (microversion 2.26): Nova's server_tags.py. Tags are stored on the instance record. */
const BASE = '/compute/v2.1/servers/{server_id}/tags';

/** Nova's MAX_TAG_COUNT and MAX_TAG_LENGTH. */
const MAX_TAGS = 50;
const MAX_TAG_LENGTH = 60;
const TAG_PATTERN = /^[^,/]*$/;

/** A tag (Nova's parameter_types.tag). */
const ServerTag = z.string().min(1).max(MAX_TAG_LENGTH).regex(TAG_PATTERN, "must not contain ',' or '/'");
const TagsBody = z.strictObject({ tags: z.array(ServerTag).max(MAX_TAGS) });

/**
 * The vm_states tags may change in (the same as metadata's). Nova checks no lock and no task
 * state for tags, so neither is checked here.
 */
const TAGGABLE_VM_STATES: readonly VmState[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED];

/** Every write is conditional on the version read: as many turns as a server can have tags added in parallel. */
const WRITE_ATTEMPTS = MAX_TAGS;

function checkTaggable(i: Instance, action: string): void {
  if (!TAGGABLE_VM_STATES.includes(i.vm_state)) throw new InstanceInvalidState(action, 'vm_state', i.vm_state, i.id);
}

/** Why a tag in the path is invalid, worded as jsonschema words it in Nova's message. */
function tagProblem(tag: string): string | undefined {
  if (tag.length < 1) return `'${tag}' is too short`;
  if (tag.length > MAX_TAG_LENGTH) return `'${tag}' is too long`;
  if (!TAG_PATTERN.test(tag)) return `'${tag}' does not match '${TAG_PATTERN.source}'`;
  return undefined;
}

/** `PUT /tags/{tag}` takes no body (Nova's schema is `null`): none, or a JSON null. */
function checkNoBody(req: ApiRequest): void {
  if (req.body.length > 0) parseBody(req, z.null());
}

/** Before 2.26 these routes do not exist (Nova's 404 for a method outside its versions). */
function since226(handler: (req: ApiRequest) => Promise<ApiResponse>) {
  return (req: ApiRequest) => {
    if (!req.microversion.atLeast('2.26')) throw new NotFound('The resource could not be found.');
    return handler(req);
  };
}

async function listTags(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { tags: (await loadInstance(req)).tags });
}

/** `GET /tags/{tag}`: 204 when the server has it. */
async function checkTag(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  const tag = req.params.tag;
  if (!instance.tags.includes(tag)) throw new NotFound(`Server ${instance.id} has no tag '${tag}'`);
  return { status: 204 };
}

/** `PUT /tags`: replaces every tag (duplicates collapse). */
async function replaceTags(req: ApiRequest): Promise<ApiResponse> {
  const { tags } = parseBody(req, TagsBody);
  const updated = await modifyInstance(
    req,
    (i) => {
      checkTaggable(i, 'update tags');
      return { tags: [...new Set(tags)] };
    },
    WRITE_ATTEMPTS,
  );
  return json(200, { tags: updated.tags });
}

/**
 * `PUT /tags/{tag}`: 201 with its Location when added, 204 when the server had it. Like Nova,
 * a server at the limit refuses even a tag it already has.
 */
async function addTag(req: ApiRequest): Promise<ApiResponse> {
  checkNoBody(req);
  const tag = req.params.tag;
  let added = false;
  const updated = await modifyInstance(
    req,
    (i) => {
      checkTaggable(i, 'update tag');
      const problem = tagProblem(tag);
      if (problem) {
        throw new BadRequest(`Tag '${tag}' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: ${problem}`);
      }
      if (i.tags.length >= MAX_TAGS) throw new BadRequest(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
      added = !i.tags.includes(tag);
      return added ? { tags: [...i.tags, tag] } : null;
    },
    WRITE_ATTEMPTS,
  );
  if (!added) return { status: 204 };
  // Encoded: a tag may hold characters a header cannot.
  return { status: 201, headers: { Location: `${computeBase(req)}/v2.1/servers/${updated.id}/tags/${encodeURIComponent(tag)}` } };
}

async function deleteTag(req: ApiRequest): Promise<ApiResponse> {
  const tag = req.params.tag;
  await modifyInstance(
    req,
    (i) => {
      checkTaggable(i, 'delete tag');
      if (!i.tags.includes(tag)) throw new NotFound(`Instance ${i.id} has no tag '${tag}'`);
      return { tags: i.tags.filter((t) => t !== tag) };
    },
    WRITE_ATTEMPTS,
  );
  return { status: 204 };
}

async function deleteAllTags(req: ApiRequest): Promise<ApiResponse> {
  await modifyInstance(
    req,
    (i) => {
      checkTaggable(i, 'delete tags');
      return i.tags.length > 0 ? { tags: [] } : null;
    },
    WRITE_ATTEMPTS,
  );
  return { status: 204 };
}

export const serverTagRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: since226(listTags) },
  { method: 'PUT', path: BASE, service: 'compute', handler: since226(replaceTags) },
  { method: 'DELETE', path: BASE, service: 'compute', handler: since226(deleteAllTags) },
  { method: 'GET', path: `${BASE}/{tag}`, service: 'compute', handler: since226(checkTag) },
  { method: 'PUT', path: `${BASE}/{tag}`, service: 'compute', handler: since226(addTag) },
  { method: 'DELETE', path: `${BASE}/{tag}`, service: 'compute', handler: since226(deleteTag) },
];
