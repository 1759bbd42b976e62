import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { HostNetworkPlan } from '../../../shared/domain/network/host-plan.js';
import { appliedPlanFile, NetworkPlans } from '../../../host-agent/commands/network-plan.js';
import type { HostNetworkStateInput } from '../../../host-agent/network/desired-state.js';
import type { DataPlaneOptions, DataPlaneSummary } from '../../../host-agent/network/data-plane.js';
import { Reporter } from '../../../host-agent/reports.js';
import { MemoryReportSink, silentLogger, tempDir } from './support.js';

function plan(revision: number, portIds: string[] = [randomUUID()]): HostNetworkPlan {
  const networkId = randomUUID();
  const subnetId = randomUUID();
  return {
    revision,
    dvr_mac: null,
    networks: [{ id: networkId, vni: 42, mtu: 1450, subnets: [{ id: subnetId, cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', enable_dhcp: true, dns_nameservers: [], host_routes: [] }], dhcp: null, flood: [], remote_ports: [] }],
    ports: portIds.map((id, i) => ({
      id,
      network_id: networkId,
      mac_address: `fa:16:3e:00:00:0${i}`,
      fixed_ips: [{ subnet_id: subnetId, ip_address: `10.0.0.${10 + i}` }],
      port_security_enabled: true,
      allowed_address_pairs: [],
      security_group_ids: [],
    })),
    security_groups: [],
    routers: [],
    devices: [],
  };
}

const noChange = { added: 0, changed: 0, removed: 0 };

async function setup(applyToKernel: boolean, stateDir?: string) {
  const dir = stateDir ?? (await tempDir());
  const sink = new MemoryReportSink();
  const applied: { state: HostNetworkStateInput; options: DataPlaneOptions }[] = [];
  const plans = new NetworkPlans({
    config: { state_dir: dir, host_ip: '192.0.2.10', network: { netns: 'host-1', underlay_dev: 'eth1', external_bridge: 'br-ex' } },
    reporter: new Reporter(sink, 'host-1'),
    applyToKernel,
    apply: async (state, options): Promise<DataPlaneSummary> => {
      applied.push({ state, options });
      return { l2: { added: 3, changed: 0, removed: 0 }, security: noChange, dhcp: noChange, routers: noChange, total: 3 };
    },
  });
  return { dir, sink, applied, plans };
}

const command = (p: HostNetworkPlan) => ({ type: 'network_plan' as const, request_id: `req-${p.revision}`, plan: p });

describe('the agent side of network plans', () => {
  it('applies a newer plan with what only the host knows, keeps it, and reports its ports plugged', async () => {
    const { dir, sink, applied, plans } = await setup(true);
    const p = plan(100);
    await plans.handle(command(p), silentLogger());
    expect(applied).toHaveLength(1);
    expect(applied[0].state).toMatchObject({ netns: 'host-1', underlay_ip: '192.0.2.10', underlay_dev: 'eth1', external_bridge: 'br-ex', ports: p.ports });
    expect(applied[0].state).not.toHaveProperty('revision');
    expect(applied[0].options.stateDir).toBe(`${dir}/network`);
    expect(JSON.parse(await readFile(appliedPlanFile(dir), 'utf8')).plan).toEqual(p);
    expect(sink.ofType('ports_plugged')).toEqual([expect.objectContaining({ host: 'host-1', request_id: 'req-100', port_ids: [p.ports[0].id] })]);
  });

  it('ignores a plan as old as or older than the last applied one', async () => {
    const { dir, sink, applied, plans } = await setup(true);
    await plans.handle(command(plan(200)), silentLogger());
    await plans.handle(command(plan(150)), silentLogger());
    await plans.handle(command(plan(200)), silentLogger());
    expect(applied).toHaveLength(1);
    expect(sink.ofType('ports_plugged')).toHaveLength(1);
    expect(JSON.parse(await readFile(appliedPlanFile(dir), 'utf8')).plan.revision).toBe(200);
    expect(await plans.lastRevision()).toBe(200);
  });

  it('applies plans one at a time, the newest last, whatever order they arrive in', async () => {
    const { applied, plans } = await setup(true);
    await Promise.all([plans.handle(command(plan(2)), silentLogger()), plans.handle(command(plan(3)), silentLogger()), plans.handle(command(plan(1)), silentLogger())]);
    expect(await plans.lastRevision()).toBe(3);
    expect(applied).toHaveLength(2);
  });

  it('re-applies the kept plan when a new run starts, and remembers its revision', async () => {
    const first = await setup(true);
    const p = plan(300);
    await first.plans.handle(command(p), silentLogger());
    const restarted = await setup(true, first.dir);
    expect(await restarted.plans.restore(silentLogger())).toBe(true);
    expect(restarted.applied.map((a) => a.state.ports)).toEqual([p.ports]);
    await restarted.plans.handle(command(plan(299)), silentLogger());
    expect(restarted.applied).toHaveLength(1);
  });

  it('with the fake driver records the plan and reports, but touches no kernel', async () => {
    const { dir, sink, applied, plans } = await setup(false);
    await plans.handle(command(plan(5)), silentLogger());
    expect(applied).toEqual([]);
    expect(JSON.parse(await readFile(appliedPlanFile(dir), 'utf8')).plan.revision).toBe(5);
    expect(sink.ofType('ports_plugged')).toHaveLength(1);
    expect(await plans.restore(silentLogger())).toBe(true);
    expect(applied).toEqual([]);
  });

  it('starts without a plan on a new host', async () => {
    const { plans, applied } = await setup(true);
    expect(await plans.restore(silentLogger())).toBe(false);
    expect(await plans.lastRevision()).toBe(0);
    expect(applied).toEqual([]);
  });
});
