import { describe, expect, it } from 'vitest';
import { validateExtraSpec } from '../../../functions/api/compute/extra-specs/extra-spec-validation.js';

/** Nova's own cases (nova/tests/unit/api/validation/extra_specs/test_validators.py). */
const valid = (name: string, value: string) => expect(() => validateExtraSpec(name, value), `${name}=${value}`).not.toThrow();
const invalid = (name: string, value: string) => expect(() => validateExtraSpec(name, value), `${name}=${value}`).toThrow(/^Validation failed; /);

describe('extra spec validation (2.86)', () => {
  it('takes unknown namespaces and names without one; refuses unknown names in known namespaces', () => {
    for (const name of ['hhw:cpu_realtime_mask', 'w:cpu_realtime_mask', 'hw_cpu_realtime_mask', 'foo', 'custom:anything']) valid(name, '^0');
    for (const name of ['hw:cpu_realtime_maskk', 'hw:cpu_realtime_mas', 'hw:foo', 'trait:NOT_A_TRAIT', 'resources1:NOT_A_CLASS']) invalid(name, 'bar');
    expect(() => validateExtraSpec('hw:foo', 'bar')).toThrow("Validation failed; extra spec 'hw:foo' does not appear to be a valid extra spec.");
  });

  it('checks string values against patterns and enums', () => {
    for (const [name, value] of [
      ['hw:cpu_realtime_mask', '^0,2-3,1'],
      ['hw:cpu_dedicated_mask', '0-4,^2,6'],
      ['hw:mem_page_size', 'large'],
      ['hw:mem_page_size', '2kbit'],
      ['hw:mem_page_size', '1GB'],
      ['hw:cpu_thread_policy', 'prefer'],
      ['hw:cpu_policy', 'mixed'],
      ['hw:tpm_version', '2.0'],
    ]) valid(name, value);
    for (const [name, value] of [
      ['hw:cpu_realtime_mask', '^0,2-3,b'],
      ['hw:mem_page_size', 'largest'],
      ['hw:mem_page_size', '1gigabyte'],
      ['hw:cpu_thread_policy', 'preferred'],
      ['hw:tpm_version', '4.2'],
    ]) invalid(name, value);
    expect(() => validateExtraSpec('hw:cpu_policy', 'lazy')).toThrow("Validation failed; 'lazy' is not one of: dedicated, shared, mixed.");
  });

  it('checks integers (with their bounds) and booleans', () => {
    valid('hw:numa_nodes', '1');
    invalid('hw:serial_port_count', 'five');
    expect(() => validateExtraSpec('hw:numa_nodes', '0')).toThrow("Validation failed; '0' is less than the min value of '1'.");
    for (const value of ['1', '0', 'true', 'y']) valid('hw:cpu_realtime', value);
    invalid('hw:cpu_realtime', 'maybe');
  });

  it('knows the standard traits and resource classes, with request groups, and custom ones', () => {
    valid('trait:HW_CPU_X86_AVX2', 'required');
    valid('trait1:COMPUTE_VOLUME_MULTI_ATTACH', 'forbidden');
    invalid('trait:HW_CPU_X86_AVX2', 'wanted');
    valid('resources:VCPU', '2');
    valid('resources_gpu:CUSTOM_GPU', '1');
    invalid('resources:MEMORY_MB', 'lots');
    valid('trait:CUSTOM_FAST_DISK', 'required');
  });
});
