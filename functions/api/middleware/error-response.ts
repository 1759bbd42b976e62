import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { errorBody, internalError } from '../http/error-body.js';
import type { Service } from '../http/types.js';
import { glanceErrorResponse } from '../image/glance-error.js';
import { Router } from '../http/router.js';
import type { ApiContext } from './request-id.js';

/** Turns thrown errors into each service's error body; anything unexpected is logged and becomes a 500. */
export function errorResponse(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext> {
  return {
    onError: (request) => {
      const service = Router.serviceOf(request.event.path ?? '');
      const err = request.error;
      if (err instanceof ApiError) {
        if (err.status >= 500) logger.error('request failed', { error: err });
        const { contentType, body } = renderError(service, err, headerOf(request.event, 'accept'));
        request.response = { statusCode: err.status, headers: { 'Content-Type': contentType, ...err.headers }, body };
        return;
      }
      logger.error('unexpected error', { error: err as Error });
      request.response = {
        statusCode: 500,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(internalError(service)),
      };
    },
  };
}

/** Glance's errors are webob's, negotiated by Accept; the others are JSON (a 401 is keystonemiddleware's, whatever the service). */
function renderError(service: Service, err: ApiError, accept: string | undefined): { contentType: string; body: string } {
  if (service === 'image' && err.status !== 401) return glanceErrorResponse(err, accept);
  return { contentType: 'application/json', body: JSON.stringify(errorBody(service, err)) };
}

const headerOf = (event: APIGatewayProxyEvent, name: string) =>
  Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
