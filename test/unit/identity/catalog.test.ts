import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../functions/api/identity/catalog.js';

describe('service catalog', () => {
  const catalog = buildCatalog('https://cloud.example/prod', 'RegionOne');

  it('lists identity, compute, image and network at their devstack-style paths', () => {
    const urls = Object.fromEntries(catalog.map((s) => [s.type, { name: s.name, url: s.endpoints[0].url }]));
    expect(urls).toEqual({
      identity: { name: 'keystone', url: 'https://cloud.example/prod/identity' },
      compute: { name: 'nova', url: 'https://cloud.example/prod/compute/v2.1' },
      image: { name: 'glance', url: 'https://cloud.example/prod/image' },
      network: { name: 'neutron', url: 'https://cloud.example/prod/networking' },
    });
  });

  it('has public, internal and admin endpoints in the region, in keystone format', () => {
    for (const service of catalog) {
      expect(service.id).toMatch(/^[0-9a-f]{32}$/);
      expect(service.endpoints.map((e) => e.interface)).toEqual(['public', 'internal', 'admin']);
      for (const endpoint of service.endpoints) {
        expect(Object.keys(endpoint).sort()).toEqual(['id', 'interface', 'region', 'region_id', 'url']);
        expect(endpoint).toMatchObject({ region: 'RegionOne', region_id: 'RegionOne' });
      }
    }
  });

  it('keeps ids stable across tokens and unique across endpoints', () => {
    expect(buildCatalog('http://other', 'RegionTwo').map((s) => s.id)).toEqual(catalog.map((s) => s.id));
    const ids = catalog.flatMap((s) => [s.id, ...s.endpoints.map((e) => e.id)]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
