import { z } from 'zod';
import { BadRequest, NotFound } from '../../../../shared/errors.js';
import { json, validate } from '../../http/body.js';
import type { ApiRequest, ApiResponse } from '../../http/types.js';
import { grantConsole, type RemoteConsoleProtocol } from '../console-grant.js';
import { loadInstance } from '../server-access.js';
import type { ServerAction } from './server-action.js';

/**
 * The console actions of microversions 2.1 to 2.5 (`os-getVNCConsole`, ...), which the
 * `openstack` CLI uses below 2.6: `{"console": {"type", "url"}}`. From 2.6 on they are gone
 * (404), replaced by remote-consoles.ts.
 */
function consoleAction(name: string, protocol: RemoteConsoleProtocol, types: [string, ...string[]], action: string): ServerAction {
  const schema = z.strictObject({ type: z.enum(types) });
  return {
    name,
    async handle(req: ApiRequest, body: unknown): Promise<ApiResponse> {
      if (req.microversion.atLeast('2.6')) throw new NotFound('The resource could not be found.');
      const { type } = validate(schema, body);
      const instance = await loadInstance(req);
      const url = await grantConsole(req, instance, { protocol, type, action });
      return json(200, { console: { type, url } });
    },
  };
}

/** Removed with Nova's Hyper-V driver (29.0.0): a bare 400 whatever the body, as Nova answers. */
const rdpConsole: ServerAction = {
  name: 'os-getRDPConsole',
  async handle(req: ApiRequest): Promise<ApiResponse> {
    if (req.microversion.atLeast('2.6')) throw new NotFound('The resource could not be found.');
    throw new BadRequest('The server could not comply with the request since it is either malformed or otherwise incorrect.');
  },
};

export const remoteConsoleActions: ServerAction[] = [
  // xvpvnc passes Nova's schema and is refused lower down.
  consoleAction('os-getVNCConsole', 'vnc', ['novnc', 'xvpvnc'], 'get_vnc_console'),
  consoleAction('os-getSerialConsole', 'serial', ['serial'], 'get_serial_console'),
  consoleAction('os-getSPICEConsole', 'spice', ['spice-html5'], 'get_spice_console'),
  rdpConsole,
];
