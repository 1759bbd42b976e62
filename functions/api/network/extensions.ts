import { NotFound } from '../../../shared/errors.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';

const UPDATED = '2026-12-01T00:00:00-00:00';
const extension = (alias: string, name: string, description: string) => ({ alias, name, description, updated: UPDATED, links: [] });

/** Exactly the Neutron extensions this API implements: clients and tempest decide what to call from this list. */
export const EXTENSIONS = [
  extension('external-net', 'Neutron external network', 'Adds external network attribute to network resource.'),
  extension('router', 'Neutron L3 Router', 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.'),
  extension('ext-gw-mode', 'Neutron L3 Configurable external gateway mode', 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway'),
  extension('security-group', 'security-group', 'The security groups extension.'),
  extension('binding', 'Port Binding', 'Expose port bindings of a virtual port to external application'),
  extension('port-security', 'Port Security', 'Provides port security'),
  extension('allowed-address-pairs', 'Allowed Address Pairs', 'Provides allowed address pairs'),
  extension('quotas', 'Quota management support', 'Expose functions for quotas management per project'),
  extension('quota_details', 'Quota details management support', 'Expose functions for quotas usage statistics per project'),
  extension('standard-attr-revisions', 'Resource revision numbers', 'This extension will display the revision number of neutron resources.'),
  extension('standard-attr-timestamp', 'Resource timestamps', 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.'),
  extension('net-mtu', 'Network MTU', 'Provides MTU attribute for a network resource.'),
];

async function listExtensions(): Promise<ApiResponse> {
  return json(200, { extensions: EXTENSIONS });
}

async function showExtension(req: ApiRequest): Promise<ApiResponse> {
  const found = EXTENSIONS.find((e) => e.alias === req.params.alias);
  if (!found) throw new NotFound(`Extension with alias ${req.params.alias} does not exist`);
  return json(200, { extension: found });
}

export const networkExtensionRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/extensions', service: 'network', handler: listExtensions },
  { method: 'GET', path: '/networking/v2.0/extensions/{alias}', service: 'network', handler: showExtension },
];
