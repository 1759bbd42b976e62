import type { ApiRequest, ApiResponse } from '../../http/types.js';

/**
 * One action of `POST /servers/{server_id}/action`, named by the single key of the body
 * (`{"os-stop": null}`); `handle` gets that key's value and validates it.
 */
export interface ServerAction {
  name: string;
  handle(req: ApiRequest, body: unknown): Promise<ApiResponse>;
}
