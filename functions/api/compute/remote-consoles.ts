import { z } from 'zod';
import { BadRequest, NotFound } from '../../../shared/errors.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { grantConsole } from './console-grant.js';
import { loadInstance } from './server-access.js';

/** Nova's create_v26 schema: every protocol and type it ever knew; the handler rejects those not served. */
const PROTOCOLS_V26 = ['vnc', 'spice', 'serial', 'rdp'] as const;
const TYPES_V26 = ['novnc', 'xvpvnc', 'spice-html5', 'serial', 'rdp-html5'] as const;

const bodySchema = (protocols: readonly string[], types: readonly string[]) =>
  z.strictObject({
    remote_console: z.strictObject({
      protocol: z.enum(protocols as [string, ...string[]]),
      type: z.enum(types as [string, ...string[]]),
    }),
  });
const CreateV26 = bodySchema(PROTOCOLS_V26, TYPES_V26);
/** 2.8 adds VMware's MKS console. */
const CreateV28 = bodySchema([...PROTOCOLS_V26, 'mks'], [...TYPES_V26, 'webmks']);
/** 2.99 adds SPICE's direct console (not offered here: Nova's 400 for an unavailable type). */
const CreateV299 = bodySchema([...PROTOCOLS_V26, 'mks'], [...TYPES_V26, 'webmks', 'spice-direct']);
const createSchemaOf = (req: ApiRequest) => (req.microversion.atLeast('2.99') ? CreateV299 : req.microversion.atLeast('2.8') ? CreateV28 : CreateV26);

/** Nova's name of the compute call per protocol, as its 409 messages give it. */
const ACTION_OF: Record<string, string> = { vnc: 'get_vnc_console', spice: 'get_spice_console', serial: 'get_serial_console', rdp: 'get_rdp_console', mks: 'get_mks_console' };

/**
 * `POST /servers/{server_id}/remote-consoles` (2.6 and later): 200 with the console's URL. vnc
 * (novnc) and serial are served by the console proxy of the host that runs the server; rdp,
 * spice and mks get Nova's 400 for a console type the cloud does not offer.
 */
async function createRemoteConsole(req: ApiRequest): Promise<ApiResponse> {
  if (!req.microversion.atLeast('2.6')) throw new NotFound('The resource could not be found.');
  const { remote_console: want } = parseBody(req, createSchemaOf(req));
  const instance = await loadInstance(req);
  const protocol = want.protocol as 'vnc' | 'spice' | 'serial' | 'rdp' | 'mks';
  // As Nova since Hyper-V left: refused before any state check, naming the protocol.
  if (protocol === 'rdp') throw new BadRequest('Unavailable console type rdp.');
  const url = await grantConsole(req, instance, { protocol, type: want.type, action: ACTION_OF[protocol] });
  return json(200, { remote_console: { protocol, type: want.type, url } });
}

export const remoteConsoleRoutes: Route[] = [
  { method: 'POST', path: '/compute/v2.1/servers/{server_id}/remote-consoles', service: 'compute', handler: createRemoteConsole },
];
