import { NotFound } from '../../../../shared/errors.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { Microversion } from '../microversion.js';

/** Nova's MAX_PROXY_API_SUPPORT_VERSION: the last microversion with the network (and image) proxy APIs. */
export const MAX_PROXY_API_SUPPORT_VERSION = '2.35';
const proxyMax = Microversion.parse(MAX_PROXY_API_SUPPORT_VERSION);

/** A proxy call answers only up to 2.35; from 2.36 Nova finds no method for the version: a plain 404. */
export function proxyOnly(handler: (req: ApiRequest) => Promise<ApiResponse>): (req: ApiRequest) => Promise<ApiResponse> {
  return async (req) => {
    if (!proxyMax.atLeast(req.microversion.toString())) throw new NotFound('The resource could not be found.');
    return handler(req);
  };
}
