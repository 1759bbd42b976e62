import { BadRequest } from '../../../../shared/errors.js';
import { KNOWN_EXTRA_SPECS, STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS } from './known-extra-specs.js';

/**
 * Nova's extra spec validation (microversion 2.86, nova/api/validation/extra_specs): a spec whose
 * name a known validator matches must have a value of its form; a spec in a known namespace
 * (hw, hw_rng, hw_video, os, quota, resources, trait, accel, ...) that no validator matches is
 * refused; anything else (no namespace, or one Nova does not know) is taken as it is.
 */
export interface KnownExtraSpec {
  /** The human form, e.g. `hw:numa_cpus.{num}`. */
  name: string;
  /** The name as a regular expression (matched whole). */
  regex: string;
  value: { type: 'str' | 'int' | 'bool'; pattern?: string; enum?: string[]; min?: number; max?: number };
}

interface Validator extends KnownExtraSpec {
  nameRe: RegExp;
  valueRe?: RegExp;
}

const GROUP = '(?<group>([a-zA-Z0-9_-]{1,64})?)';
const whole = (regex: string) => new RegExp(`^(?:${regex})$`);

const ALL: KnownExtraSpec[] = [
  ...KNOWN_EXTRA_SPECS,
  ...STANDARD_TRAITS.map((trait) => ({ name: `trait{group}:${trait}`, regex: `trait${GROUP}:${trait}`, value: { type: 'str' as const, enum: ['required', 'forbidden'] } })),
  ...STANDARD_RESOURCE_CLASSES.map((rc) => ({ name: `resources{group}:${rc}`, regex: `resources${GROUP}:${rc}`, value: { type: 'int' as const } })),
];

const VALIDATORS = new Map<string, Validator>(
  ALL.map((spec) => [spec.name, { ...spec, nameRe: whole(spec.regex), valueRe: spec.value.type === 'str' && spec.value.pattern ? whole(spec.value.pattern) : undefined }]),
);

/** The namespaces (the part of a name before ':') Nova's validators cover, as expressions. */
const NAMESPACES = [...new Set(ALL.filter((s) => s.regex.includes(':')).map((s) => s.regex.split(':')[0]))].map(whole);

const failed = (reason: string) => new BadRequest(`Validation failed; ${reason}`);

/** oslo's bool_from_string(strict=True). */
const BOOLEAN_WORDS = ['1', 't', 'true', 'on', 'y', 'yes', '0', 'f', 'false', 'off', 'n', 'no'];

function checkValue(v: Validator, value: string): void {
  const spec = v.value;
  if (spec.type === 'int') {
    if (!/^\s*[-+]?\d+\s*$/.test(value)) throw failed(`'${value}' is not a valid integer value.`);
    const n = Number(value);
    if (spec.max !== undefined && spec.max < n) throw failed(`'${value}' is greater than the max value of '${spec.max}'.`);
    if (spec.min !== undefined && spec.min > n) throw failed(`'${value}' is less than the min value of '${spec.min}'.`);
  } else if (spec.type === 'bool') {
    if (!BOOLEAN_WORDS.includes(value.trim().toLowerCase())) throw failed(`'${value}' is not a valid boolean-like value.`);
  } else if (v.valueRe) {
    if (!v.valueRe.test(value)) throw failed(`'${value}' is not of the format '${spec.pattern}'.`);
  } else if (spec.enum && !spec.enum.includes(value)) {
    throw failed(`'${value}' is not one of: ${spec.enum.join(', ')}.`);
  }
}

/** Nova's validators.validate: Nova's 400 for a known spec with a bad value or an unknown name in a known namespace. */
export function validateExtraSpec(name: string, value: string): void {
  const exact = VALIDATORS.get(name);
  if (exact) return checkValue(exact, value);
  for (const v of VALIDATORS.values()) if (v.nameRe.test(name)) return checkValue(v, value);
  if (!name.includes(':')) return;
  const namespace = name.split(':', 1)[0];
  if (NAMESPACES.some((re) => re.test(namespace))) throw failed(`extra spec '${name}' does not appear to be a valid extra spec.`);
}
