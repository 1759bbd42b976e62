import { z } from 'zod';
import { NotFound } from '../../../shared/errors.js';
import { json, parseQuery } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { rejectUnknownQuery } from './query-params.js';
import { loadInstance } from './server-access.js';

/**
 * `servers/{server_id}/os-volume_attachments`: the volumes attached to a server. There is no
 * block storage service, so no server has any: the list is empty and any one attachment is
 * Nova's 404, for a server the caller can see (another project's server is a 404 as always).
 * Attaching needs a volume service, so POST, PUT and DELETE are not routed.
 */

/** Nova's index_query: `limit` and `offset` non-negative integers; strict from 2.75. */
const NonNegativeInteger = z.string().regex(/^[0-9]+$/, 'must be a non-negative integer');
const IndexQuery = z.object({ limit: NonNegativeInteger.optional(), offset: NonNegativeInteger.optional() });

async function index(req: ApiRequest): Promise<ApiResponse> {
  rejectUnknownQuery(req, ['limit', 'offset']);
  parseQuery(req, IndexQuery);
  await loadInstance(req);
  return json(200, { volumeAttachments: [] });
}

/** Nova's show query is strict from 2.102, past this cloud's maximum: parameters are ignored. */
async function show(req: ApiRequest): Promise<ApiResponse> {
  await loadInstance(req);
  throw new NotFound(`Instance ${req.params.server_id} is not attached to volume ${req.params.volume_id}`);
}

const ATTACHMENTS = '/compute/v2.1/servers/{server_id}/os-volume_attachments';

export const volumeAttachmentRoutes: Route[] = [
  { method: 'GET', path: ATTACHMENTS, service: 'compute', handler: index },
  { method: 'GET', path: `${ATTACHMENTS}/{volume_id}`, service: 'compute', handler: show },
];
