import { z } from 'zod';
import { HostNetworkPlanSchema } from '../../shared/domain/network/host-plan.js';

export * from '../../shared/domain/network/host-plan.js';

const Ipv4Schema = z.ipv4();

/**
 * Everything one host's data plane must have: the control plane's plan (the revision aside)
 * plus what only the host knows: its namespace, tunnel address and external bridge.
 */
export const HostNetworkStateSchema = HostNetworkPlanSchema.omit({ revision: true })
  .extend({
    /** The namespace this host's data plane lives in (local clouds and tests: one per simulated host); absent = the agent's own. */
    netns: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/).optional(),
    /** This host's VTEP address. */
    underlay_ip: Ipv4Schema,
    /** The interface VXLAN packets leave by (the vxlan `dev`); absent = routed by the kernel. */
    underlay_dev: z.string().min(1).max(15).optional(),
    /** The bridge (or interface) on the external network's segment, for router gateways; absent = no external access here. */
    external_bridge: z.string().min(1).max(15).optional(),
  })
  .superRefine((state, ctx) => {
    const duplicates = (values: (string | number)[]) => values.filter((v, i) => values.indexOf(v) !== i);
    const unique: [string, (string | number)[]][] = [
      ['networks', state.networks.map((n) => n.id)],
      ['networks', state.networks.map((n) => n.vni)],
      ['ports', state.ports.map((p) => p.id)],
      ['security_groups', state.security_groups.map((g) => g.id)],
    ];
    for (const [path, values] of unique) {
      for (const value of new Set(duplicates(values))) ctx.addIssue({ code: 'custom', path: [path], message: `${value} appears more than once` });
    }
    const networks = new Set(state.networks.map((n) => n.id));
    const groups = new Set(state.security_groups.map((g) => g.id));
    state.ports.forEach((port, i) => {
      if (!networks.has(port.network_id)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'network_id'], message: `network ${port.network_id} is not in networks` });
      for (const id of port.security_group_ids) {
        if (!groups.has(id)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'security_group_ids'], message: `security group ${id} is not in security_groups` });
      }
    });
  });
export type HostNetworkState = z.infer<typeof HostNetworkStateSchema>;
/** What a message carries before defaults are filled in. */
export type HostNetworkStateInput = z.input<typeof HostNetworkStateSchema>;
