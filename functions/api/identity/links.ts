import type { ApiRequest } from '../http/types.js';

/** Absolute URL of an identity v3 path, for `links`. */
export const v3Url = (req: ApiRequest, path = '') => `${req.baseUrl}/identity/v3${path}`;

/** Keystone's collection `links` (no paging here: every list is returned whole). */
export const collectionLinks = (req: ApiRequest) => ({
  self: `${req.baseUrl}${req.path}${req.query.size ? `?${req.query.toString()}` : ''}`,
  previous: null,
  next: null,
});
