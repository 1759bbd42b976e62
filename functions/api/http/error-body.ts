import { ApiError } from '../../../shared/errors.js';
import type { Service } from './types.js';

/** The error body each service's clients parse. */
export function errorBody(service: Service, err: ApiError): unknown {
  // Before any service sees a request, keystonemiddleware refuses a missing or invalid token
  // with Keystone's body, whatever the service.
  switch (err.status === 401 ? 'identity' : service) {
    case 'identity':
      return { error: { code: err.status, message: err.message, title: err.title } };
    case 'network':
      return { NeutronError: { type: NEUTRON_TYPES[err.name] ?? err.name, message: err.message, detail: '' } };
    case 'image':
      // glanceclient and openstacksdk show `message` of a JSON error body.
      return { code: err.status, title: err.title, message: err.message };
    default:
      return { [err.fault]: { code: err.status, message: err.message } };
  }
}

/** Neutron names the generic HTTP faults after webob's exceptions; its own carry their class names. */
const NEUTRON_TYPES: Record<string, string> = {
  BadRequest: 'HTTPBadRequest',
  NotFound: 'HTTPNotFound',
  Forbidden: 'HTTPForbidden',
  Conflict: 'HTTPConflict',
  MethodNotAllowed: 'HTTPMethodNotAllowed',
  UnsupportedMediaType: 'HTTPUnsupportedMediaType',
  RequestTooLarge: 'HTTPRequestEntityTooLarge',
};

export const internalError = (service: Service) =>
  errorBody(
    service,
    new ApiError(500, 'computeFault', 'Internal Server Error', 'Unexpected API Error. Please report this at the novaless issue tracker and attach the request id.'),
  );
