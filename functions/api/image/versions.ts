import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';

/** The image API versions novaless speaks: 2.7 (os_hidden, multihash) and the ones it contains. */
const CURRENT = 'v2.7';
const SUPPORTED = ['v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0'];

function versionsDocument(req: ApiRequest) {
  const links = [{ rel: 'self', href: `${req.baseUrl}/image/v2/` }];
  return {
    versions: [
      { id: CURRENT, status: 'CURRENT', links },
      ...SUPPORTED.map((id) => ({ id, status: 'SUPPORTED', links })),
    ],
  };
}

/** Glance answers its root (and any unversioned path) with 300 Multiple Choices and `/versions` with 200. */
const multipleChoices = async (req: ApiRequest): Promise<ApiResponse> => json(300, versionsDocument(req));
const versions = async (req: ApiRequest): Promise<ApiResponse> => json(200, versionsDocument(req));

export const imageVersionRoutes: Route[] = [
  { method: 'GET', path: '/image', service: 'image', public: true, handler: multipleChoices },
  { method: 'GET', path: '/image/versions', service: 'image', public: true, handler: versions },
  { method: 'GET', path: '/image/v2', service: 'image', public: true, handler: multipleChoices },
];
