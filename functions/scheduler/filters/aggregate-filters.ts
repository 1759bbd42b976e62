import { metadataOfHost } from '../../../shared/domain/aggregate.js';
import type { HostFilter } from './host-filter.js';

const SCOPE = 'aggregate_instance_extra_specs';

/**
 * Nova's extra_specs_ops.match: a requirement is a value, or an operator and operands
 * (`<in> sub`, `<or> a <or> b`, `s== x`, `s!= x`, `= n` (at least n), `>= n`, `<= n`, `== n`, `!= n`).
 */
export function matchesRequirement(value: string, requirement: string): boolean {
  const words = requirement.trim().split(/\s+/);
  const [op, ...rest] = words;
  const operand = rest.join(' ');
  const num = (s: string) => Number(s);
  switch (op) {
    case '<in>':
      return value.includes(operand);
    case '<or>':
      return requirement.split('<or>').map((s) => s.trim()).filter(Boolean).includes(value);
    case 's==':
      return value === operand;
    case 's!=':
      return value !== operand;
    case '=':
    case '>=':
      return num(value) >= num(operand);
    case '<=':
      return num(value) <= num(operand);
    case '==':
      return num(value) === num(operand);
    case '!=':
      return num(value) !== num(operand);
    default:
      return value === requirement;
  }
}

/**
 * The flavor's extra specs without a scope, or scoped `aggregate_instance_extra_specs:`, must
 * each be matched by the metadata of one of the host's aggregates (Nova's
 * AggregateInstanceExtraSpecsFilter); specs of other scopes (`hw:`, `quota:`) are not its business.
 */
export const AggregateInstanceExtraSpecsFilter: HostFilter = {
  name: 'AggregateInstanceExtraSpecsFilter',
  passes: (host, spec, ctx) => {
    const wanted = Object.entries(spec.flavorExtraSpecs).flatMap(([key, requirement]) => {
      const parts = key.split(':');
      if (parts.length > 1 && parts[0] !== SCOPE) return [];
      return [[parts.length > 1 ? parts.slice(1).join(':') : key, requirement] as const];
    });
    if (!wanted.length) return true;
    const metadata = metadataOfHost(ctx.aggregates, host.host);
    return wanted.every(([key, requirement]) => [...(metadata.get(key) ?? [])].some((value) => matchesRequirement(value, requirement)));
  },
};

/**
 * A host in an aggregate with `filter_tenant_id` (or `filter_tenant_id<suffix>`) metadata takes
 * only the projects it names (Nova's AggregateMultiTenancyIsolation); other hosts take anyone.
 */
export const AggregateMultiTenancyIsolation: HostFilter = {
  name: 'AggregateMultiTenancyIsolation',
  passes: (host, spec, ctx) => {
    const metadata = metadataOfHost(ctx.aggregates, host.host);
    const allowed = [...metadata.entries()].filter(([k]) => k.startsWith('filter_tenant_id')).flatMap(([, v]) => [...v]);
    return allowed.length === 0 || allowed.includes(spec.projectId);
  },
};
