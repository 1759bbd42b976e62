import { config } from '../../../shared/config.js';
import { BadRequest, NotFound } from '../../../shared/errors.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import {
  SHARED_NETWORK_CREATED_AT,
  SHARED_NETWORK_ID,
  SHARED_NETWORK_MTU,
  SHARED_NETWORK_NAME,
  SHARED_NETWORK_PROJECT_ID,
  SHARED_SUBNET_ID,
} from './shared-network.js';

type NetworkView = Record<string, unknown>;

/** Neutron's error type for a missing network, shown by clients as NeutronError.type. */
export class NetworkNotFound extends NotFound {}

/** The shared network as Neutron shows a network. */
export function sharedNetworkView(availabilityZone: string): NetworkView {
  return {
    id: SHARED_NETWORK_ID,
    name: SHARED_NETWORK_NAME,
    description: '',
    tenant_id: SHARED_NETWORK_PROJECT_ID,
    project_id: SHARED_NETWORK_PROJECT_ID,
    admin_state_up: true,
    status: 'ACTIVE',
    shared: true,
    'router:external': false,
    subnets: [SHARED_SUBNET_ID],
    mtu: SHARED_NETWORK_MTU,
    port_security_enabled: false,
    availability_zone_hints: [],
    availability_zones: [availabilityZone],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    is_default: false,
    l2_adjacency: true,
    qos_policy_id: null,
    dns_domain: '',
    tags: [],
    revision_number: 1,
    created_at: SHARED_NETWORK_CREATED_AT,
    updated_at: SHARED_NETWORK_CREATED_AT,
  };
}

const FILTERS = new Set(['id', 'name', 'description', 'tenant_id', 'project_id', 'status', 'shared', 'admin_state_up', 'router:external', 'mtu']);
/** Pagination and sorting: accepted, and moot with a single network. */
const IGNORED = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir']);

/** Neutron's boolean conversion for query values. */
function asBoolean(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new BadRequest(`Invalid input for ${key}. Reason: '${value}' cannot be converted to boolean.`);
}

/**
 * Neutron's list filtering: each filter attribute must match one of its given values
 * (repeating a key means OR); unknown attributes are a 400; `fields` picks the attributes shown.
 */
export function filterNetworks(networks: NetworkView[], query: URLSearchParams): NetworkView[] {
  const keys = new Set(query.keys());
  for (const key of keys) {
    if (!FILTERS.has(key) && !IGNORED.has(key)) throw new BadRequest(`[${key}] is invalid attribute for filtering`);
  }
  const matching = networks.filter((network) =>
    [...keys]
      .filter((key) => FILTERS.has(key))
      .every((key) =>
        query.getAll(key).some((value) => {
          const actual = network[key];
          if (typeof actual === 'boolean') return actual === asBoolean(key, value);
          return String(actual) === value;
        }),
      ),
  );
  const fields = query.getAll('fields');
  if (fields.length === 0) return matching;
  return matching.map((network) => Object.fromEntries(Object.entries(network).filter(([k]) => fields.includes(k))));
}

async function list(req: ApiRequest): Promise<ApiResponse> {
  const networks = filterNetworks([sharedNetworkView(config().DEFAULT_AVAILABILITY_ZONE)], req.query);
  return json(200, { networks });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  const id = req.params.network_id;
  if (id !== SHARED_NETWORK_ID) throw new NetworkNotFound(`Network ${id} could not be found.`);
  const [network] = filterNetworks([sharedNetworkView(config().DEFAULT_AVAILABILITY_ZONE)], fieldsOnly(req.query));
  return json(200, { network });
}

/** A show takes `fields` only; other parameters do not filter it. */
const fieldsOnly = (query: URLSearchParams) => new URLSearchParams([...query].filter(([k]) => k === 'fields'));

export const networkResourceRoutes: Route[] = [
  { method: 'GET', path: '/networking/v2.0/networks', service: 'network', handler: list },
  { method: 'GET', path: '/networking/v2.0/networks/{network_id}', service: 'network', handler: show },
];
