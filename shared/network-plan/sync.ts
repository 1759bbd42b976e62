import { ConcurrentModification } from '../domain/network/errors.js';
import type { Port } from '../domain/network/port.js';
import { logger } from '../logger.js';
import { config } from '../config.js';
import { ConductorMessageSchema } from '../messages/conductor.js';
import { HostCommandSchema } from '../messages/host.js';
import { sendMessage } from '../messages/send.js';
import { getPort, listDevicePorts, listNetworkPorts, listPorts, updatePort } from '../store/network/ports.js';
import { listRouterPorts } from '../store/network/routers.js';
import { listSecurityGroupRules } from '../store/network/security-groups.js';
import { buildHostPlan, ensureAgentGatewayPorts, isComputePort, loadNetworkSnapshot } from './host-plan.js';

/**
 * Pushing the plans to the hosts (Neutron's agent notifications, over the host queues): a
 * change recomputes the whole plan of every host it touches and sends it as a `network_plan`
 * command. A plan is a full snapshot with a revision, so a repeated, reordered or lost message is
 * harmless: the host keeps the newest it got, and the next sync (or the host's own
 * `network_sync_request` when its agent starts) brings it up to date.
 */

let lastRevision = 0;

/**
 * A plan revision: the time its reads started (a plan read later supersedes one read earlier),
 * strictly increasing within this process so two syncs in one millisecond are not taken as one.
 */
function nextRevision(): number {
  lastRevision = Math.max(Date.now(), lastRevision + 1);
  return lastRevision;
}

/**
 * How long after a change its plans are computed once more. The lists a plan is read from are
 * DynamoDB indexes, updated asynchronously (usually within a second): a plan computed right after
 * a change may miss it, and the second one, from the conductor, does not.
 */
export const FOLLOW_UP_DELAY_SECONDS = 3;

/**
 * Computes and sends the plan of each named host that is registered (others have no queue). One
 * read of the table serves them all. With `followUp` (the default), the same hosts get their
 * plans again FOLLOW_UP_DELAY_SECONDS later.
 */
export async function syncHostNetworks(hostNames: Iterable<string>, requestId: string, { followUp = true } = {}): Promise<void> {
  const names = [...new Set(hostNames)].filter(Boolean);
  if (names.length === 0) return;
  if (followUp) await sendMessage(config().CONDUCTOR_QUEUE_URL, ConductorMessageSchema, { type: 'network_resync', hosts: names, request_id: requestId }, FOLLOW_UP_DELAY_SECONDS);
  const revision = nextRevision();
  const snapshot = await loadNetworkSnapshot();
  const hosts = new Map(snapshot.hosts.map((h) => [h.host, h]));
  for (const name of names) {
    const host = hosts.get(name);
    if (!host) {
      logger.info('no network plan for a host that is not registered', { host: name });
      continue;
    }
    await ensureAgentGatewayPorts(snapshot, name);
    const plan = buildHostPlan(snapshot, name, revision);
    await sendMessage(host.queue_url, HostCommandSchema, { type: 'network_plan', request_id: requestId, plan });
    logger.info('sent network plan', { host: name, revision, networks: plan.networks.length, ports: plan.ports.length, routers: plan.routers.length });
  }
}

const boundHostsOf = (ports: Port[]) => ports.filter((p) => isComputePort(p) && p.binding_host_id).map((p) => p.binding_host_id);

/** The hosts with server ports bound on any of the networks. */
export async function hostsOfNetworks(networkIds: Iterable<string>): Promise<Set<string>> {
  const ports = await Promise.all([...new Set(networkIds)].map((id) => listNetworkPorts(id)));
  return new Set(boundHostsOf(ports.flat()));
}

/**
 * The hosts with server ports in the group, or in a group with a rule naming it as remote group
 * (their member sets include it).
 */
export const hostsOfSecurityGroup = (groupId: string) => hostsOfSecurityGroups([groupId]);

export async function hostsOfSecurityGroups(groupIds: Iterable<string>): Promise<Set<string>> {
  const named = new Set(groupIds);
  if (named.size === 0) return new Set();
  const [ports, rules] = await Promise.all([listPorts(), listSecurityGroupRules()]);
  const groups = new Set([...named, ...rules.filter((r) => r.remote_group_id && named.has(r.remote_group_id)).map((r) => r.security_group_id)]);
  return new Set(boundHostsOf(ports.filter((p) => p.security_groups.some((g) => groups.has(g)))));
}

// --- the triggers: one call each from the API, never failing it -------------------------------

/** Runs a sync; a failure is logged, never raised (the next sync or the agent's own start request repairs it). */
async function safely(what: string, requestId: string, sync: () => Promise<void>): Promise<void> {
  try {
    await sync();
  } catch (error) {
    logger.error(`could not push network plans after ${what}`, { request_id: requestId, error: error as Error });
  }
}

/** After a security group rule was added or removed. */
export const syncSecurityGroupHosts = (groupId: string, requestId: string) =>
  safely('a security group change', requestId, async () => syncHostNetworks(await hostsOfSecurityGroup(groupId), requestId));

/**
 * After ports changed (security groups, port security, address pairs, a floating IP): the hosts
 * they are bound to and, for each group they were or are in, the hosts that hold its members.
 */
export const syncPortHosts = (ports: (Port | undefined)[], requestId: string) =>
  safely('a port change', requestId, async () => {
    const present = ports.filter((p): p is Port => p !== undefined);
    const members = await hostsOfSecurityGroups(present.flatMap((p) => p.security_groups));
    await syncHostNetworks([...boundHostsOf(present), ...members], requestId);
  });

/** After a floating IP was made, moved or deleted: the hosts of the ports it left and joined (they do its NAT). */
export const syncFloatingIpHosts = (portIds: (string | null)[], requestId: string) =>
  safely('a floating IP change', requestId, async () => {
    const ports = await Promise.all([...new Set(portIds.filter((id): id is string => !!id))].map((id) => getPort(id)));
    await syncHostNetworks(boundHostsOf(ports.filter((p): p is Port => p !== undefined)), requestId);
  });

/** After a change every host on the networks sees (a subnet, a router interface). */
export const syncNetworkHosts = (networkIds: Iterable<string>, requestId: string) =>
  safely('a network change', requestId, async () => syncHostNetworks(await hostsOfNetworks(networkIds), requestId));

/** After a router's gateway changed: every host on the networks of its interfaces. */
export const syncRouterHosts = (routerId: string, requestId: string) =>
  safely('a router change', requestId, async () => {
    const networks = (await listRouterPorts(routerId)).map((p) => p.network_id);
    await syncHostNetworks(await hostsOfNetworks(networks), requestId);
  });

// --- binding a server's ports to its host -----------------------------------------------------

/**
 * Binds the server's ports to the host it was placed on (Neutron's binding:host_id, set by Nova
 * before the spawn) and pushes the plans that change: the host's own, the other hosts' on those
 * networks (their peers), and the hosts of the ports' groups (their members). Idempotent: a
 * port bound already is left as it is, and the plans are sent again. A failed bind raises (the
 * build request comes back); a failed push is only logged.
 */
export async function bindDevicePorts(deviceId: string, hostName: string, requestId: string): Promise<void> {
  const ports = await listDevicePorts(deviceId);
  const previousHosts = ports.map((p) => p.binding_host_id).filter((h) => h && h !== hostName);
  const bound = await Promise.all(ports.map((p) => bindPort(p, hostName)));
  await safely('binding ports', requestId, async () => syncHostNetworks([hostName, ...previousHosts, ...(await hostsAffectedByPorts(bound))], requestId));
}

/** The hosts whose plans a server's ports appear in: theirs, their networks' (peers), their groups' (members). */
export async function hostsAffectedByPorts(ports: Port[]): Promise<Set<string>> {
  const [onNetworks, members] = await Promise.all([hostsOfNetworks(ports.map((p) => p.network_id)), hostsOfSecurityGroups(ports.flatMap((p) => p.security_groups))]);
  return new Set([...boundHostsOf(ports), ...onNetworks, ...members]);
}

async function bindPort(port: Port, hostName: string): Promise<Port> {
  for (let attempt = 1, current = port; ; attempt++) {
    if (current.binding_host_id === hostName) return current;
    try {
      return await updatePort(current, { binding_host_id: hostName, status: 'DOWN' });
    } catch (error) {
      if (!(error instanceof ConcurrentModification) || attempt >= 5) throw error;
      const fresh = await getPort(port.id);
      if (!fresh) return current;
      current = fresh;
    }
  }
}
