import { isAdmin, type Caller } from '../identity/token-context.js';

/**
 * Neutron's default policy, in one place: admins see and change everything; a project sees
 * its own resources, plus shared and external networks (and their subnets), which only
 * their owner or an admin may change.
 */
export const ownsOrAdmin = (caller: Caller, resource: { project_id: string }) => isAdmin(caller) || resource.project_id === caller.project_id;

export const networkVisibleTo = (caller: Caller, network: { project_id: string; shared: boolean; router_external: boolean }) =>
  ownsOrAdmin(caller, network) || network.shared || network.router_external;

/** Whether a project may put ports (and servers) on a network. External networks take only floating IPs and router gateways. */
export const networkUsableBy = (caller: Caller, network: { project_id: string; shared: boolean }) => ownsOrAdmin(caller, network) || network.shared;

/** The project a new resource belongs to: the caller's, or (admins only) the one the body names. */
export function owningProject(caller: Caller, body: { project_id?: string; tenant_id?: string }): string {
  const asked = body.project_id ?? body.tenant_id;
  return asked && isAdmin(caller) ? asked : caller.project_id;
}
