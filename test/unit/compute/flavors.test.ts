import { describe, expect, it } from 'vitest';
import { flavorView, parseFlavorQuery, selectFlavors } from '../../../functions/api/compute/flavors.js';
import { nextLinks, pageOf } from '../../../functions/api/compute/links.js';
import { Microversion } from '../../../functions/api/compute/microversion.js';
import type { ApiRequest } from '../../../functions/api/http/types.js';
import { DEFAULT_FLAVORS, type Flavor } from '../../../shared/domain/flavor.js';

const flavor = (base: Pick<Flavor, 'id' | 'name' | 'vcpus' | 'ram' | 'disk'>, extra: Partial<Flavor> = {}): Flavor => ({
  ...base,
  ephemeral: 0,
  swap: 0,
  rxtx_factor: 1,
  is_public: true,
  disabled: false,
  description: null,
  extra_specs: {},
  created_at: `2026-01-01T00:00:0${base.id.length}Z`,
  ...extra,
});

const defaults = DEFAULT_FLAVORS.map((f) => flavor(f));
const secret = flavor({ id: '10', name: 'secret', vcpus: 1, ram: 256, disk: 1 }, { is_public: false });
const all = [...defaults, secret];
const query = (q: string, admin = false) => parseFlavorQuery(new URLSearchParams(q), admin);
const ids = (flavors: Flavor[]) => flavors.map((f) => f.id);

describe('selectFlavors', () => {
  it('orders by flavor id as a string and hides private flavors without access', () => {
    expect(ids(selectFlavors(all, query(''), false, new Set()))).toEqual(['1', '2', '3', '4', '5']);
    expect(ids(selectFlavors(all, query(''), false, new Set(['10'])))).toEqual(['1', '10', '2', '3', '4', '5']);
  });

  it('lets only admins choose is_public', () => {
    expect(ids(selectFlavors(all, query('is_public=false'), false, new Set()))).toEqual(['1', '2', '3', '4', '5']);
    expect(ids(selectFlavors(all, query('is_public=false', true), true, new Set()))).toEqual(['10']);
    expect(ids(selectFlavors(all, query('is_public=none', true), true, new Set()))).toHaveLength(6);
  });

  it('filters on minRam and minDisk', () => {
    expect(ids(selectFlavors(all, query('minRam=4096&minDisk=50'), false, new Set()))).toEqual(['4', '5']);
  });

  it('sorts on Nova sort keys', () => {
    expect(ids(selectFlavors(all, query('sort_key=memory_mb&sort_dir=desc'), false, new Set()))).toEqual(['5', '4', '3', '2', '1']);
    expect(ids(selectFlavors(all, query('sort_key=name'), false, new Set()))).toEqual(['4', '3', '2', '1', '5']);
  });

  it('pages with limit and marker', () => {
    expect(ids(selectFlavors(all, query('limit=2'), false, new Set()))).toEqual(['1', '2']);
    expect(ids(selectFlavors(all, query('limit=2&marker=2'), false, new Set()))).toEqual(['3', '4']);
    expect(() => selectFlavors(all, query('marker=nope'), false, new Set())).toThrow('marker [nope] not found');
  });

  it('rejects bad query values with Nova messages', () => {
    expect(() => query('minRam=lots')).toThrow('Invalid minRam filter [lots]');
    expect(() => query('is_public=maybe', true)).toThrow('Invalid is_public filter [maybe]');
    expect(() => query('limit=-1')).toThrow('limit param must be positive');
    expect(() => query('limit=x')).toThrow('limit param must be an integer');
    expect(() => query('sort_key=colour')).toThrow(/sort_key/);
    expect(() => query('sort_dir=up')).toThrow(/sort_dir/);
  });
});

describe('flavor links and view', () => {
  const req = { baseUrl: 'http://cloud.test', query: new URLSearchParams('limit=2&minRam=1'), microversion: Microversion.parse('2.1') } as ApiRequest;

  it('gives a next link only for a full page the client limited', () => {
    const page = pageOf(req.query);
    expect(nextLinks(req, 'flavors', page, ['1', '2'])).toEqual([
      { href: 'http://cloud.test/compute/v2.1/flavors?limit=2&minRam=1&marker=2', rel: 'next' },
    ]);
    expect(nextLinks(req, 'flavors', page, ['1'])).toBeUndefined();
    expect(nextLinks(req, 'flavors', pageOf(new URLSearchParams()), ['1', '2'])).toBeUndefined();
  });

  it('shows the 2.1 fields, swap as "" when there is none', () => {
    expect(flavorView(req, defaults[0])).toEqual({
      id: '1',
      name: 'm1.tiny',
      ram: 512,
      disk: 1,
      swap: '',
      vcpus: 1,
      'OS-FLV-EXT-DATA:ephemeral': 0,
      'OS-FLV-DISABLED:disabled': false,
      'os-flavor-access:is_public': true,
      rxtx_factor: 1,
      links: [
        { href: 'http://cloud.test/compute/v2.1/flavors/1', rel: 'self' },
        { href: 'http://cloud.test/compute/flavors/1', rel: 'bookmark' },
      ],
    });
    expect(flavorView(req, { ...defaults[0], swap: 512 }).swap).toBe(512);
  });

  it('adds description at 2.55 and extra_specs at 2.61; swap is 0 from 2.75', () => {
    const at = (v: string) => ({ ...req, microversion: Microversion.parse(v) }) as ApiRequest;
    const flavor = { ...defaults[0], description: 'tiny', extra_specs: { 'hw:cpu_policy': 'shared' } };
    expect(flavorView(at('2.54'), flavor)).not.toHaveProperty('description');
    expect(flavorView(at('2.55'), flavor)).toMatchObject({ description: 'tiny', swap: '' });
    expect(flavorView(at('2.55'), flavor)).not.toHaveProperty('extra_specs');
    expect(flavorView(at('2.61'), flavor).extra_specs).toEqual({ 'hw:cpu_policy': 'shared' });
    expect(flavorView(at('2.74'), flavor).swap).toBe('');
    expect(flavorView(at('2.75'), flavor).swap).toBe(0);
  });
});
