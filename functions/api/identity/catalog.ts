import { createHash } from 'node:crypto';

const SERVICES = [
  { type: 'identity', name: 'keystone', path: '/identity' },
  { type: 'compute', name: 'nova', path: '/compute/v2.1' },
  { type: 'image', name: 'glance', path: '/image' },
  { type: 'network', name: 'neutron', path: '/networking' },
] as const;

const INTERFACES = ['public', 'internal', 'admin'] as const;

/** Stable ids, so a catalog looks the same in every token (clients may cache endpoints by id). */
const stableId = (...parts: string[]) => createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 32);

/**
 * The service catalog of every token, in keystone's format. All services live behind the one
 * API endpoint, as in devstack (`/identity`, `/compute/v2.1`, ...); every interface has the same URL.
 */
export function buildCatalog(baseUrl: string, region: string) {
  return SERVICES.map((service) => ({
    id: stableId('service', service.type),
    type: service.type,
    name: service.name,
    endpoints: INTERFACES.map((iface) => ({
      id: stableId('endpoint', service.type, iface),
      interface: iface,
      region_id: region,
      region,
      url: `${baseUrl}${service.path}`,
    })),
  }));
}
