import { describe, expect, it } from 'vitest';
import { AggregateInstanceExtraSpecsFilter, AggregateMultiTenancyIsolation, matchesRequirement } from '../../../functions/scheduler/filters/aggregate-filters.js';
import { AvailabilityZoneFilter } from '../../../functions/scheduler/filters/availability-zone-filter.js';
import { ImagePropertiesFilter } from '../../../functions/scheduler/filters/image-properties-filter.js';
import { ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter } from '../../../functions/scheduler/filters/server-group-filters.js';
import type { RequestSpec } from '../../../functions/scheduler/request-spec.js';
import { weighHosts } from '../../../functions/scheduler/weighers/index.js';
import type { Aggregate } from '../../../shared/domain/aggregate.js';
import type { Host } from '../../../shared/domain/host.js';
import { hostRecord } from '../../support/fixtures.js';
import type { ServerGroup } from '../../../shared/domain/server-group.js';

const host = (name: string, extra: Partial<Host> = {}): Host => hostRecord(name, { memory_mb: 8192, memory_mb_limit: 8192, ...extra });
const spec = (extra: Partial<RequestSpec> = {}): RequestSpec => ({ instanceId: 'i', vcpus: 1, memoryMb: 512, diskGb: 1, availabilityZone: null, ignoreHosts: [], projectId: 'p1', flavorExtraSpecs: {}, imageProperties: {}, forcedHost: null, ...extra });
const aggregate = (id: number, hosts: string[], metadata: Record<string, string>): Aggregate => ({
  id, uuid: `00000000-0000-4000-8000-00000000000${id}`, name: `agg${id}`, availability_zone: metadata.availability_zone ?? null, hosts, metadata, created_at: '', updated_at: null, version: 1,
});
const ctx = (aggregates: Aggregate[]) => ({ now: Date.parse('2026-06-01T12:00:10Z'), serviceDownTime: 60, aggregates });
const group = (policy: ServerGroup['policy'], hosts: Record<string, number>, affinityHost: string | null = null) => ({
  group: { id: 'g', name: 'g', project_id: 'p1', user_id: 'u', policy, rules: {}, member_count: 1, created_at: '' },
  hosts,
  affinityHost,
});

describe('aggregate filters', () => {
  const aggs = [aggregate(1, ['a'], { ssd: 'true', cpu: '8' }), aggregate(2, ['b'], { ssd: 'false', filter_tenant_id: 'p2,p3' })];

  it("matches flavor extra specs (unscoped or aggregate_instance_extra_specs:) against the host's aggregates, leaving other scopes alone", () => {
    const wants = (specs: Record<string, string>, h: string) => AggregateInstanceExtraSpecsFilter.passes(host(h), spec({ flavorExtraSpecs: specs }), ctx(aggs));
    expect(wants({ ssd: 'true' }, 'a')).toBe(true);
    expect(wants({ ssd: 'true' }, 'b')).toBe(false);
    expect(wants({ 'aggregate_instance_extra_specs:ssd': 'false' }, 'b')).toBe(true);
    expect(wants({ 'hw:cpu_policy': 'dedicated' }, 'c')).toBe(true);
    expect(wants({ cpu: '>= 4' }, 'a')).toBe(true);
    expect(wants({ cpu: '>= 16' }, 'a')).toBe(false);
    expect(wants({ ssd: 'true' }, 'c')).toBe(false);
  });

  it('knows the extra spec operators', () => {
    expect(matchesRequirement('x86_64', '<in> 86')).toBe(true);
    expect(matchesRequirement('b', '<or> a <or> b')).toBe(true);
    expect(matchesRequirement('c', '<or> a <or> b')).toBe(false);
    expect(matchesRequirement('abc', 's== abc')).toBe(true);
    expect(matchesRequirement('4', '= 2')).toBe(true);
  });

  it('keeps hosts of an aggregate with filter_tenant_id for the projects it names', () => {
    const isolation = (project: string, h: string) => AggregateMultiTenancyIsolation.passes(host(h), spec({ projectId: project }), ctx(aggs));
    expect(isolation('p1', 'a')).toBe(true);
    expect(isolation('p1', 'b')).toBe(false);
    expect(isolation('p3', 'b')).toBe(true);
  });

  it('puts a host in the zone its aggregate gives it', () => {
    expect(AvailabilityZoneFilter.passes(host('a', { aggregate_zone: 'london' }), spec({ availabilityZone: 'london' }), ctx([]))).toBe(true);
    expect(AvailabilityZoneFilter.passes(host('a', { aggregate_zone: 'london' }), spec({ availabilityZone: 'nova' }), ctx([]))).toBe(false);
  });
});

describe('server group filters and weighers', () => {
  it('keeps an affinity group on its host and an anti-affinity group off the hosts it has', () => {
    expect(ServerGroupAffinityFilter.passes(host('a'), spec({ group: group('affinity', { b: 1 }, 'b') }), ctx([]))).toBe(false);
    expect(ServerGroupAffinityFilter.passes(host('b'), spec({ group: group('affinity', { b: 1 }, 'b') }), ctx([]))).toBe(true);
    expect(ServerGroupAffinityFilter.passes(host('a'), spec({ group: group('affinity', {}) }), ctx([]))).toBe(true);
    expect(ServerGroupAntiAffinityFilter.passes(host('a'), spec({ group: group('anti-affinity', { a: 1 }) }), ctx([]))).toBe(false);
    expect(ServerGroupAntiAffinityFilter.passes(host('b'), spec({ group: group('anti-affinity', { a: 1 }) }), ctx([]))).toBe(true);
  });

  it('prefers the members’ host for soft-affinity and the others for soft-anti-affinity, over the RAM spread', () => {
    const fuller = host('a', { used_memory_mb: 1024 });
    const emptier = host('b');
    expect(weighHosts([fuller, emptier], spec({ group: group('soft-affinity', { a: 1 }) })).map((h) => h.host)).toEqual(['a', 'b']);
    expect(weighHosts([fuller, emptier], spec({ group: group('soft-anti-affinity', { b: 1 }) })).map((h) => h.host)).toEqual(['a', 'b']);
    expect(weighHosts([fuller, emptier], spec()).map((h) => h.host)).toEqual(['b', 'a']);
  });
});

describe('ImagePropertiesFilter', () => {
  const runs = (props: Record<string, string>, h: Host) => ImagePropertiesFilter.passes(h, spec({ imageProperties: props }), ctx([]));

  it("runs an image only where its architecture, hypervisor type and VM mode are offered", () => {
    const kvm = host('k', { virt_type: 'kvm', architecture: 'x86_64' });
    const arm = host('a', { virt_type: 'qemu', architecture: 'aarch64' });
    expect(runs({}, arm)).toBe(true);
    expect(runs({ hw_architecture: 'x86_64' }, kvm)).toBe(true);
    expect(runs({ architecture: 'x86_64' }, arm)).toBe(false);
    expect(runs({ img_hv_type: 'qemu' }, kvm)).toBe(true);
    expect(runs({ hypervisor_type: 'xen' }, kvm)).toBe(false);
    expect(runs({ hw_vm_mode: 'xen' }, kvm)).toBe(false);
    expect(runs({ hw_vm_mode: 'HVM' }, kvm)).toBe(true);
    // A host registered before hosts reported an architecture is taken as x86_64.
    expect(runs({ hw_architecture: 'x86_64' }, host('old'))).toBe(true);
  });
});
