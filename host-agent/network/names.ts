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

const ID11 = '[0-9a-f]{8}-[0-9a-f]{2}';
export const OWN_BRIDGE = new RegExp(`^brq${ID11}$`);
export const OWN_TAP = new RegExp(`^tap${ID11}$`);
export const OWN_VXLAN = /^vx-\d+$/;
export const OWN_DHCP_VETH = new RegExp(`^dh${ID11}$`);

/** The nft tables the data plane owns (it replaces them whole on every change). */
export const SPOOF_TABLE = { family: 'bridge', name: 'novaless_spoof' } as const;
export const SG_TABLE = { family: 'inet', name: 'novaless_sg' } as const;
