/**
 * Errors a request can end with. Handlers throw these; the API's error middleware turns them
 * into the body each service's clients expect (Nova: {"itemNotFound": {"code": 404, "message": ...}},
 * Keystone: {"error": {"code", "message", "title"}}, Neutron: {"NeutronError": ...}).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** Nova's fault name for this status, the key of its error body. */
    readonly fault: string,
    /** Keystone's error title. */
    readonly title: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequest extends ApiError {
  constructor(message: string) {
    super(400, 'badRequest', 'Bad Request', message);
  }
}

export class Unauthorized extends ApiError {
  constructor(message = 'The request you have made requires authentication.') {
    super(401, 'unauthorized', 'Unauthorized', message);
  }
}

export class Forbidden extends ApiError {
  constructor(message: string) {
    super(403, 'forbidden', 'Forbidden', message);
  }
}

/** Nova answers quota failures with 403 and a "Quota exceeded ..." message. */
export class QuotaExceeded extends Forbidden {}

export class NotFound extends ApiError {
  constructor(message: string) {
    super(404, 'itemNotFound', 'Not Found', message);
  }
}

export class MethodNotAllowed extends ApiError {
  constructor(message = 'The method is not allowed for the requested URL.') {
    super(405, 'badMethod', 'Method Not Allowed', message);
  }
}

export class NotAcceptable extends ApiError {
  constructor(message: string) {
    // Nova's Fault has no name for 406 and falls back to computeFault.
    super(406, 'computeFault', 'Not Acceptable', message);
  }
}

export class Conflict extends ApiError {
  constructor(message: string) {
    super(409, 'conflictingRequest', 'Conflict', message);
  }
}

/** An action asked of an instance in a vm_state/task_state that does not allow it. */
export class InstanceInvalidState extends Conflict {
  constructor(action: string, attr: string, state: string, instanceId: string) {
    super(`Cannot '${action}' instance ${instanceId} while it is in ${attr} ${state}`);
  }
}

/** What a driver cannot do, in Nova's words (its NotImplemented faults). */
export class NotImplemented extends ApiError {
  constructor(message: string) {
    super(501, 'notImplemented', 'Not Implemented', message);
  }
}

export class RequestTooLarge extends ApiError {
  constructor(message = 'Request entity is too large.') {
    super(413, 'overLimit', 'Request Entity Too Large', message);
  }
}

export class UnsupportedMediaType extends ApiError {
  constructor(message: string) {
    super(415, 'badMediaType', 'Unsupported Media Type', message);
  }
}
