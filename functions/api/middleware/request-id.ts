import { randomUUID } from 'node:crypto';
import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { logger } from '../../../shared/logger.js';

export type ApiContext = Context & { requestId: string };

/** One request id per API call (`req-<uuid>`), in every log line and echoed in the response headers. */
export function requestId(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext> {
  const stamp = (request: Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext>) => {
    if (!request.response) return;
    request.response.headers = {
      ...request.response.headers,
      'x-openstack-request-id': request.context.requestId,
      'x-compute-request-id': request.context.requestId,
    };
  };
  return {
    before: (request) => {
      request.context.requestId = `req-${randomUUID()}`;
      logger.resetKeys();
      logger.appendKeys({ request_id: request.context.requestId });
    },
    after: stamp,
    onError: stamp,
  };
}
