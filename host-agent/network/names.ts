/**
 * The names of everything the data plane makes. Interface names fit IFNAMSIZ (15 characters).
 * The patterns recognise what is ours, so stale devices can be removed without touching others'.
 */

/** Neutron linuxbridge's name of a network's bridge. */
export const bridgeName = (networkId: string) => `brq${networkId.slice(0, 11)}`;
/** Nova's devname of a port: the tap QEMU opens. */
export const tapName = (portId: string) => `tap${portId.slice(0, 11)}`;
export const vxlanName = (vni: number) => `vx-${vni}`;
/** The host end of the veth from a network's bridge to its DHCP namespace. */
export const dhcpHostVethName = (networkId: string) => `dh${networkId.slice(0, 11)}`;
/** The DHCP namespace's end of that veth (Neutron's `ns-` prefix). */
export const dhcpNsVethName = (networkId: string) => `ns-${networkId.slice(0, 11)}`;

/** Namespace names are global: each host's DHCP namespaces start with its own netns name. */
export const dhcpNamespacePrefix = (hostNetns: string | undefined) => `${hostNetns ?? 'nl'}-dhcp-`;
export const dhcpNamespace = (hostNetns: string | undefined, networkId: string) => `${dhcpNamespacePrefix(hostNetns)}${networkId.slice(0, 8)}`;

/** Each host's router namespaces (one per distributed router, Neutron's `qrouter-`) likewise. */
export const routerNamespacePrefix = (hostNetns: string | undefined) => `${hostNetns ?? 'nl'}-qr-`;
export const routerNamespace = (hostNetns: string | undefined, routerId: string) => `${routerNamespacePrefix(hostNetns)}${routerId.slice(0, 8)}`;
/** A router interface in the router's namespace (Neutron's name), holding the subnet's gateway address and the port's MAC. */
export const routerInterfaceName = (portId: string) => `qr-${portId.slice(0, 11)}`;
/** Its peer, on the network's bridge in the host's namespace. */
export const routerInterfacePeerName = (portId: string) => `ri${portId.slice(0, 11)}`;
/** A router's gateway in its namespace (Neutron's name), holding the host's external address and floating IPs. */
export const routerGatewayName = (routerId: string) => `qg-${routerId.slice(0, 11)}`;
/** Its peer, on the external bridge in the host's namespace. */
export const routerGatewayPeerName = (routerId: string) => `rg${routerId.slice(0, 11)}`;

const ID11 = '[0-9a-f]{8}-[0-9a-f]{2}';
export const OWN_BRIDGE = new RegExp(`^brq${ID11}$`);
export const OWN_TAP = new RegExp(`^tap${ID11}$`);
export const OWN_VXLAN = /^vx-\d+$/;
export const OWN_DHCP_VETH = new RegExp(`^dh${ID11}$`);
export const OWN_ROUTER_VETH = new RegExp(`^(ri|rg)${ID11}$`);
export const OWN_ROUTER_NS_DEVICE = new RegExp(`^(qr|qg)-${ID11}$`);

/** The nft tables the data plane owns (it replaces them whole on every change). */
export const SPOOF_TABLE = { family: 'bridge', name: 'novaless_spoof' } as const;
export const SG_TABLE = { family: 'inet', name: 'novaless_sg' } as const;
/** In the host's namespace: keeps each host's copy of a distributed router's interfaces to itself (router-ruleset.ts). */
export const ROUTER_ISOLATION_TABLE = { family: 'bridge', name: 'novaless_dvr' } as const;
/** In each router namespace: its SNAT and floating IPs. */
export const ROUTER_NAT_TABLE = { family: 'ip', name: 'novaless_nat' } as const;
