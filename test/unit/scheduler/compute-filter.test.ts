import { describe, expect, it } from 'vitest';
import { ComputeFilter } from '../../../functions/scheduler/filters/compute-filter.js';
import { noValidHostMessage, selectHosts } from '../../../functions/scheduler/select-hosts.js';
import type { RequestSpec } from '../../../functions/scheduler/request-spec.js';
import type { Host } from '../../../shared/domain/host.js';
import { hostRecord } from '../../support/fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ctx = { now: NOW, serviceDownTime: 60, aggregates: [] };
const spec: RequestSpec = { instanceId: 'i-1', vcpus: 1, memoryMb: 512, diskGb: 1, availabilityZone: null, ignoreHosts: [], projectId: 'p1', flavorExtraSpecs: {}, imageProperties: {}, forcedHost: null };

const host = (name: string, extra: Partial<Host> = {}): Host => hostRecord(name, { id: name, service_id: name, last_heartbeat: '2026-06-01T11:59:50Z', ...extra });

describe('ComputeFilter and forced_down (microversion 2.11)', () => {
  it('passes an enabled host with a fresh heartbeat; a host stored before forced_down existed is not forced down', () => {
    expect(host('a').forced_down).toBe(false);
    expect(ComputeFilter.passes(host('a'), spec, ctx)).toBe(true);
  });

  it('rejects a forced-down host whatever its heartbeat says, like a disabled or silent one', () => {
    expect(ComputeFilter.passes(host('a', { forced_down: true }), spec, ctx)).toBe(false);
    expect(ComputeFilter.passes(host('a', { status: 'disabled' }), spec, ctx)).toBe(false);
    expect(ComputeFilter.passes(host('a', { last_heartbeat: '2026-06-01T11:58:00Z' }), spec, ctx)).toBe(false);
  });

  it('leaves a forced-down host out of the selection, and says which filter rejected it', () => {
    const selection = selectHosts([host('a', { forced_down: true }), host('b')], spec, ctx);
    expect(selection.hosts.map((h) => h.host)).toEqual(['b']);
    const none = selectHosts([host('a', { forced_down: true })], spec, ctx);
    expect(none.hosts).toEqual([]);
    expect(noValidHostMessage(none)).toContain('ComputeFilter rejected 1');
  });
});
