import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { errorBody, internalError } from '../http/error-body.js';
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
        request.response = {
          statusCode: err.status,
          headers: { 'Content-Type': 'application/json', ...err.headers },
          body: JSON.stringify(errorBody(service, err)),
        };
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
