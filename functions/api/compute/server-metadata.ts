import { z } from 'zod';
import type { ComputeLimits } from '../../../shared/domain/quota.js';
import { projectLimits } from '../../../shared/store/quota-limits.js';
import { BadRequest, NotFound, QuotaExceeded } from '../../../shared/errors.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { checkNotLocked, loadInstance, modifyInstance } from './server-access.js';

const BASE = '/compute/v2.1/servers/{server_id}/metadata';
const Metadata = z.record(z.string().min(1).max(255), z.string().max(255));
const MetadataBody = z.strictObject({ metadata: Metadata });
const MetaItemBody = z.strictObject({ meta: Metadata });

/** Nova's metadata_items quota: 403 past the project's limit (-1: none). */
export function checkMetadataItems(metadata: Record<string, string>, limits: ComputeLimits): void {
  const limit = limits.metadata_items;
  if (limit >= 0 && Object.keys(metadata).length > limit) {
    throw new QuotaExceeded(`Quota exceeded for metadata_items: Maximum number of metadata items exceeds ${limit}`);
  }
}

/** Replaces (PUT) or merges into (POST) the server's metadata. */
function writeMetadata(replace: boolean) {
  return async (req: ApiRequest): Promise<ApiResponse> => {
    const { metadata } = parseBody(req, MetadataBody);
    const instance = await loadInstance(req);
    checkNotLocked(req, instance);
    const limits = await projectLimits(instance.project_id);
    const updated = await modifyInstance(req, (i) => {
      const next = replace ? metadata : { ...i.metadata, ...metadata };
      checkMetadataItems(next, limits);
      return { metadata: next };
    });
    return json(200, { metadata: updated.metadata });
  };
}

async function listMetadata(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { metadata: (await loadInstance(req)).metadata });
}

async function showMetaItem(req: ApiRequest): Promise<ApiResponse> {
  const { metadata } = await loadInstance(req);
  const key = req.params.key;
  if (!(key in metadata)) throw new NotFound('Metadata item was not found');
  return json(200, { meta: { [key]: metadata[key] } });
}

async function setMetaItem(req: ApiRequest): Promise<ApiResponse> {
  const { meta } = parseBody(req, MetaItemBody);
  const key = req.params.key;
  if (Object.keys(meta).length !== 1) throw new BadRequest('Request body contains too many items');
  if (!(key in meta)) throw new BadRequest('Request body and URI mismatch');
  const instance = await loadInstance(req);
  checkNotLocked(req, instance);
  const limits = await projectLimits(instance.project_id);
  await modifyInstance(req, (i) => {
    const next = { ...i.metadata, [key]: meta[key] };
    checkMetadataItems(next, limits);
    return { metadata: next };
  });
  return json(200, { meta });
}

async function deleteMetaItem(req: ApiRequest): Promise<ApiResponse> {
  const key = req.params.key;
  const instance = await loadInstance(req);
  checkNotLocked(req, instance);
  if (!(key in instance.metadata)) throw new NotFound('Metadata item was not found');
  await modifyInstance(req, (i) => {
    const { [key]: _removed, ...rest } = i.metadata;
    return { metadata: rest };
  });
  return { status: 204 };
}

export const serverMetadataRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listMetadata },
  { method: 'PUT', path: BASE, service: 'compute', handler: writeMetadata(true) },
  { method: 'POST', path: BASE, service: 'compute', handler: writeMetadata(false) },
  { method: 'GET', path: `${BASE}/{key}`, service: 'compute', handler: showMetaItem },
  { method: 'PUT', path: `${BASE}/{key}`, service: 'compute', handler: setMetaItem },
  { method: 'DELETE', path: `${BASE}/{key}`, service: 'compute', handler: deleteMetaItem },
];
