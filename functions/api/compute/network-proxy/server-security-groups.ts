import type { Instance } from '../../../../shared/domain/instance.js';
import { BadRequest, Conflict, NotFound } from '../../../../shared/errors.js';
import { json } from '../../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../../http/types.js';
import { loadInstance, modifyInstance } from '../server-access.js';
import { neutronClient, onNeutronStatus } from './neutron-client.js';
import { findGroupId } from './security-group-api.js';
import { novaGroup, type NeutronGroup } from './security-group-format.js';
import { byProjectAndName, groupView, sourceGroupData } from './security-groups.js';

interface NeutronPort {
  id: string;
  device_id: string;
  security_groups: string[];
  port_security_enabled: boolean;
  fixed_ips: unknown[];
}

const serverPorts = async (req: ApiRequest, instanceId: string) =>
  (await neutronClient(req).get<{ ports: NeutronPort[] }>('/ports', { device_id: instanceId })).ports;

/** The groups of the server's ports (a group on two ports shows twice, as in Nova), as Neutron shows them to the caller. */
async function portGroups(req: ApiRequest, ports: NeutronPort[]): Promise<NeutronGroup[]> {
  const ids = [...new Set(ports.flatMap((p) => p.security_groups))];
  if (ids.length === 0) return [];
  const { security_groups } = await neutronClient(req).get<{ security_groups: NeutronGroup[] }>('/security-groups', { id: ids });
  const byId = new Map(security_groups.map((g) => [g.id, g]));
  return ports.flatMap((p) => p.security_groups.map((id) => byId.get(id)).filter((g): g is NeutronGroup => !!g));
}

/** `GET /servers/{server_id}/os-security-groups` (every microversion): the groups of the server's ports, by project and name. */
async function listServerSecurityGroups(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  const groups = (await portGroups(req, await serverPorts(req, instance.id))).map(novaGroup);
  const sources = await sourceGroupData(req, groups);
  const views = groups.map((g) => groupView(g, sources)).sort(byProjectAndName);
  return json(200, { security_groups: views });
}

/** The server's ports, or Nova's 404 when it has none (there is nothing to put a group on). */
async function portsOrNotFound(req: ApiRequest, instance: Instance): Promise<NeutronPort[]> {
  const ports = await serverPorts(req, instance.id);
  if (ports.length === 0) throw new NotFound(`instance_id ${instance.id} could not be found as device id on any ports`);
  return ports;
}

async function setPortGroups(req: ApiRequest, port: NeutronPort, groups: string[]): Promise<void> {
  await onNeutronStatus(neutronClient(req).put(`/ports/${port.id}`, { port: { security_groups: groups } }), {
    400: (e) => new BadRequest(e.message),
    409: (e) => new Conflict(e.message),
  });
}

/** Keeps the server's own list of group names (what `server show` lists) in step with its ports. */
async function recordServerGroups(req: ApiRequest, instance: Instance): Promise<void> {
  const names = [...new Set((await portGroups(req, await serverPorts(req, instance.id))).map((g) => g.name || g.id))];
  await modifyInstance(req, (i) => (names.join('\n') === i.security_groups.join('\n') ? null : { security_groups: names }));
}

/**
 * `addSecurityGroup` (security_group_api.add_to_instance): the group (by name or id) goes on every
 * port of the server; a port without port security or without addresses cannot take it (400).
 * The port update is Neutron's, so the hosts' firewall follows as for `openstack port set`.
 */
export async function addSecurityGroup(req: ApiRequest, instance: Instance, name: string): Promise<void> {
  const groupId = await findGroupId(req, name);
  const ports = await portsOrNotFound(req, instance);
  for (const port of ports) {
    if (!port.port_security_enabled || port.fixed_ips.length === 0) {
      throw new BadRequest('Network requires port_security_enabled and subnet associated in order to apply security groups.');
    }
    await setPortGroups(req, port, [...new Set([...port.security_groups, groupId])]);
  }
  await recordServerGroups(req, instance);
}

/** `removeSecurityGroup` (remove_from_instance): off every port that has it; 404 when none has. */
export async function removeSecurityGroup(req: ApiRequest, instance: Instance, name: string): Promise<void> {
  const groupId = await findGroupId(req, name);
  const ports = await portsOrNotFound(req, instance);
  let found = false;
  for (const port of ports) {
    if (!port.security_groups.includes(groupId)) continue;
    await setPortGroups(req, port, port.security_groups.filter((id) => id !== groupId));
    found = true;
  }
  if (!found) throw new NotFound(`Security group ${name} not associated with the instance ${instance.id}`);
  await recordServerGroups(req, instance);
}

export const serverSecurityGroupRoutes: Route[] = [
  { method: 'GET', path: '/compute/v2.1/servers/{server_id}/os-security-groups', service: 'compute', handler: listServerSecurityGroups },
];
