import { describe, expect, it } from 'vitest';
import { ratioAggregatesOf, withAggregateRatios } from '../../../functions/scheduler/allocation-ratios.js';
import type { Aggregate } from '../../../shared/domain/aggregate.js';
import { hostRecord } from '../../support/fixtures.js';

const aggregate = (id: number, hosts: string[], metadata: Record<string, string>): Aggregate => ({
  id, uuid: `00000000-0000-4000-8000-00000000000${id}`, name: `agg${id}`, availability_zone: null, hosts, metadata, created_at: '', updated_at: null, version: 1,
});
// 8 vCPUs, 16384 MB, 200 GB at 4.0 / 1.0 / 1.0.
const host = hostRecord('h1');

describe('withAggregateRatios', () => {
  it('leaves a host in no ratio aggregate as stored', () => {
    expect(withAggregateRatios(host, [aggregate(1, ['h1'], { ssd: 'true' }), aggregate(2, ['h2'], { cpu_allocation_ratio: '1.0' })])).toEqual(host);
  });

  it('takes each ratio its aggregates set, with the limits it gives (rounded down)', () => {
    const h = withAggregateRatios(host, [aggregate(1, ['h1'], { cpu_allocation_ratio: '1.0', ram_allocation_ratio: '1.5', disk_allocation_ratio: '0.333' })]);
    expect(h).toMatchObject({ cpu_allocation_ratio: 1, vcpus_limit: 8, ram_allocation_ratio: 1.5, memory_mb_limit: 24576, disk_allocation_ratio: 0.333, disk_gb_limit: 66 });
  });

  it('takes the smallest when the host is in several aggregates, as Nova did', () => {
    const h = withAggregateRatios(host, [aggregate(1, ['h1'], { cpu_allocation_ratio: '3.0' }), aggregate(2, ['h1', 'h2'], { cpu_allocation_ratio: '2' })]);
    expect(h).toMatchObject({ cpu_allocation_ratio: 2, vcpus_limit: 16, ram_allocation_ratio: 1 });
  });

  it('keeps the host’s own ratio when a value is not a positive number', () => {
    for (const bad of ['lots', '', '-1', '0']) {
      expect(withAggregateRatios(host, [aggregate(1, ['h1'], { cpu_allocation_ratio: bad }), aggregate(2, ['h1'], { cpu_allocation_ratio: '2' })])).toMatchObject({ vcpus_limit: 32 });
    }
  });
});

describe('ratioAggregatesOf', () => {
  it('names the host’s aggregates that set a ratio, the ones a claim must find unchanged', () => {
    const all = [aggregate(1, ['h1'], { ssd: 'true' }), aggregate(2, ['h1'], { ram_allocation_ratio: '2' }), aggregate(3, ['h2'], { cpu_allocation_ratio: '1' })];
    expect(ratioAggregatesOf(all, 'h1').map((a) => a.id)).toEqual([2]);
  });
});
