import { z } from 'zod';
import { contains, parseCidr, toInt } from '../../shared/domain/network/ipv4.js';
import type { HostNetworkState, RouterPlan } from './desired-state.js';
import { ip, type Changes, type HostContext } from './host-context.js';
import { routerInterfaceName } from './names.js';
import { localRouterInterfaces, subnetOf } from './router-ruleset.js';

/**
 * A router copy's neighbour entries for the ports on other hosts (Neutron DVR's ARP table
 * population): its ARP cannot cross the tunnels, where the gateway address of every host's copy
 * is kept off (router-ruleset.ts), so it is told where each remote address lives. Local ports it
 * resolves with ARP as usual.
 */

interface Neighbour {
  ip: string;
  mac: string;
  dev: string;
}

const key = (n: Neighbour) => `${n.dev} ${n.ip} ${n.mac}`;

/** The permanent entries the router's namespace must hold: every remote port address inside one of its interface subnets. */
export function routerNeighbours(state: HostNetworkState, router: RouterPlan): Neighbour[] {
  const networks = new Map(state.networks.map((n) => [n.id, n]));
  return localRouterInterfaces(state)
    .filter((i) => i.router.id === router.id)
    .flatMap(({ iface }) => {
      const subnet = parseCidr(subnetOf(iface.ip_address, iface.prefix_length));
      const remote = networks.get(iface.network_id)?.remote_ports ?? [];
      return remote.filter((p) => contains(subnet, toInt(p.ip_address))).map((p) => ({ ip: p.ip_address, mac: p.mac_address, dev: routerInterfaceName(iface.port_id) }));
    });
}

const NeighboursSchema = z.array(z.looseObject({ dst: z.string(), dev: z.string(), lladdr: z.string().optional() }));

/** Gives the namespace exactly `wanted` as its permanent neighbour entries. */
export async function syncRouterNeighbours(ctx: HostContext, ns: string, wanted: Neighbour[], changes: Changes): Promise<void> {
  const shown = NeighboursSchema.parse(JSON.parse((await ip(ctx, ['-j', '-4', 'neigh', 'show', 'nud', 'permanent'], ns)) || '[]'));
  const have = shown.map((n): Neighbour => ({ ip: n.dst, dev: n.dev, mac: (n.lladdr ?? '').toLowerCase() }));
  const wantedKeys = new Set(wanted.map(key));
  const haveKeys = new Set(have.map(key));
  for (const n of have.filter((n) => !wantedKeys.has(key(n)))) {
    await ip(ctx, ['neigh', 'del', n.ip, 'dev', n.dev], ns);
    changes.removed++;
  }
  for (const n of wanted.filter((n) => !haveKeys.has(key(n)))) {
    await ip(ctx, ['neigh', 'replace', n.ip, 'lladdr', n.mac, 'dev', n.dev, 'nud', 'permanent'], ns);
    changes.added++;
  }
  const removed = have.length - have.filter((n) => wantedKeys.has(key(n))).length;
  const added = wanted.length - wanted.filter((n) => haveKeys.has(key(n))).length;
  if (removed || added) ctx.log(`set the neighbour entries of remote ports in ${ns}: ${added} added, ${removed} removed`);
}
