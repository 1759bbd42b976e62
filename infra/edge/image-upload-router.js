import cf from 'cloudfront';

/*
 * CloudFront viewer-request function (cloudfront-js-2.0) of the `/image/v2/images/*\/file`
 * behavior. API Gateway refuses request bodies over 10 MB and Lambda over 6 MB, so a large image
 * data upload (`PUT`) cannot pass through the API. Uploads that fit in one API invocation go to
 * the API as usual (stored and hashed in the request, like Glance), and so do uploads of unknown
 * length, which S3 would refuse. For larger ones this function checks the caller's token (the
 * API's signed format, `<payload>.<signature>`, HMAC-SHA256 under the key kept in the
 * distribution's KeyValueStore) and sends the request to the image bucket's origin (signed by
 * origin access control) under
 * `image-uploads/<image>/<project>/<admin|member>/<user>/<token id>/<token issued, ms>/<request id>`.
 * The image-data function then checks the token against revocations and the uploader against
 * the image, and hashes the bytes.
 * Every other method goes on to the API. The local runtime runs this very file
 * (infra/local/edge-server.ts). The constants below are those of shared/resources.ts.
 */
var STORAGE_ORIGIN_ID = 'image-storage';
// MAX_UPLOAD_BYTES of functions/api/image/image-data.ts: what the API function takes itself.
var MAX_API_UPLOAD_BYTES = 4669440;
var TOKEN_KEY_NAME = 'token-key';
var UPLOAD_PREFIX = 'image-uploads/';
var DATA_PATH = /^\/image\/v2\/images\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/file$/;
var ID = /^[A-Za-z0-9_-]{1,64}$/;
var crypto = require('crypto');

async function handler(event) {
  var request = event.request;
  if (request.method !== 'PUT') return request;
  var match = DATA_PATH.exec(request.uri);
  if (!match) return request;
  var length = request.headers['content-length'];
  // An upload of unknown length (Transfer-Encoding: chunked, as glanceclient sends files) goes to
  // the API too: S3 takes no PUT without Content-Length (411), while API Gateway reads the whole
  // body and the API function stores it, up to what it takes (413 beyond, saying so).
  if (!length || Number(length.value) <= MAX_API_UPLOAD_BYTES) return request;

  var header = request.headers['x-auth-token'];
  if (!header) return unauthorized('The request you have made requires authentication.');
  var caller = await verify(header.value, await cf.kvs().get(TOKEN_KEY_NAME));
  if (typeof caller === 'string') return unauthorized(caller);

  var role = caller.roles.some(function (r) { return r.name === 'admin'; }) ? 'admin' : 'member';
  request.uri = '/' + UPLOAD_PREFIX + [match[1], caller.project_id, role, caller.user_id, caller.id, caller.issued, event.context.requestId].join('/');
  request.querystring = {};
  // The token goes no further, and S3 options (storage class, metadata, ...) are not the viewer's to set.
  for (var name in request.headers) {
    if (name === 'x-auth-token' || name.indexOf('x-amz-') === 0) delete request.headers[name];
  }
  cf.selectRequestOriginById(STORAGE_ORIGIN_ID);
  return request;
}

/** The token's payload if its signature, shape and expiry hold; otherwise why not, as a string. */
async function verify(token, key) {
  var parts = token.split('.');
  if (parts.length !== 2) return 'The token is malformed.';
  var expected = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(parts[0]).digest('base64url');
  if (expected !== parts[1]) return 'The token signature is invalid.';
  var payload;
  try {
    payload = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch (e) {
    return 'The token is malformed.';
  }
  if (!payload || !ID.test(payload.project_id) || !ID.test(payload.user_id) || !ID.test(payload.id) || !Array.isArray(payload.roles)) {
    return 'The token is malformed.';
  }
  payload.issued = millis(payload.issued_at);
  if (isNaN(payload.issued)) return 'The token is malformed.';
  if (!(millis(payload.expires_at) > Date.now())) return 'The token has expired.';
  return payload;
}

/** Keystone's times have microseconds (`...17.893000Z`); Date.parse is only specified for milliseconds. */
function millis(time) {
  return Date.parse(String(time).replace(/\.(\d{3})\d*Z$/, '.$1Z'));
}

/** Keystone's 401, which keystonemiddleware answers for every service. */
function unauthorized(message) {
  return {
    statusCode: 401,
    statusDescription: 'Unauthorized',
    headers: {
      'content-type': { value: 'application/json' },
      'www-authenticate': { value: 'Keystone uri="/identity"' },
    },
    body: { encoding: 'text', data: JSON.stringify({ error: { code: 401, message: message, title: 'Unauthorized' } }) },
  };
}
