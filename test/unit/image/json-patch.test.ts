import { describe, expect, it } from 'vitest';
import { applyImagePatch, attributeOfPath } from '../../../functions/api/image/json-patch.js';
import { anImage, statusOf } from './support.js';

describe('glance v2.1 JSON patch', () => {
  it('sets base attributes and extra properties with add (as openstacksdk sends them)', () => {
    const image = anImage({ properties: { os_distro: 'cirros' } });
    const patched = applyImagePatch(image, [
      { op: 'add', path: '/min_ram', value: 256 },
      { op: 'add', path: '/name', value: 'renamed' },
      { op: 'add', path: '/os_distro', value: 'ubuntu' },
      { op: 'add', path: '/protected', value: true },
      { op: 'add', path: '/tags', value: ['a', 'b', 'a'] },
      { op: 'add', path: '/hw_disk_bus', value: 'virtio' },
    ]);
    expect(patched).toMatchObject({
      name: 'renamed',
      min_ram: 256,
      protected: true,
      tags: ['a', 'b'],
      properties: { os_distro: 'ubuntu', hw_disk_bus: 'virtio' },
    });
    expect(image.properties).toEqual({ os_distro: 'cirros' });
  });

  it('replaces existing properties and refuses to replace or remove missing ones (409)', () => {
    const image = anImage({ properties: { a: '1' } });
    expect(applyImagePatch(image, [{ op: 'replace', path: '/a', value: '2' }]).properties).toEqual({ a: '2' });
    expect(applyImagePatch(image, [{ op: 'remove', path: '/a' }]).properties).toEqual({});
    expect(statusOf(() => applyImagePatch(image, [{ op: 'replace', path: '/b', value: 'x' }]))).toBe(409);
    expect(statusOf(() => applyImagePatch(image, [{ op: 'remove', path: '/b' }]))).toBe(409);
  });

  it('rejects read-only and reserved attributes with 403, and removal of base attributes', () => {
    for (const path of ['/status', '/id', '/size', '/checksum', '/os_hash_value', '/created_at', '/self']) {
      expect(statusOf(() => applyImagePatch(anImage(), [{ op: 'replace', path, value: 'x' }])), path).toBe(403);
    }
    expect(statusOf(() => applyImagePatch(anImage(), [{ op: 'add', path: '/deleted', value: 'x' }]))).toBe(403);
    expect(statusOf(() => applyImagePatch(anImage(), [{ op: 'add', path: '/os_glance_x', value: 'x' }]))).toBe(403);
    expect(statusOf(() => applyImagePatch(anImage(), [{ op: 'remove', path: '/name' }]))).toBe(403);
  });

  it('rejects bad operations, paths and values with 400', () => {
    const bad = [
      { op: 'move', path: '/name', value: 'x' },
      { op: 'add', path: 'name', value: 'x' },
      { op: 'add', path: '/tags/0', value: 'x' },
      { op: 'add', path: '/name' },
      { op: 'add', path: '/min_disk', value: -1 },
      { op: 'add', path: '/visibility', value: 'everyone' },
      { op: 'add', path: '/disk_format', value: 'exe' },
      { op: 'add', path: '/extra', value: 5 },
    ];
    for (const change of bad) expect(statusOf(() => applyImagePatch(anImage(), [change])), JSON.stringify(change)).toBe(400);
  });

  it('lets formats change only while the image is queued', () => {
    const change = [{ op: 'replace', path: '/disk_format', value: 'raw' }];
    expect(applyImagePatch(anImage(), change).disk_format).toBe('raw');
    expect(statusOf(() => applyImagePatch(anImage({ status: 'active' }), change))).toBe(403);
  });

  it('enforces the tag and property quotas with 413', () => {
    const tags = Array.from({ length: 129 }, (_, i) => `t${i}`);
    expect(statusOf(() => applyImagePatch(anImage(), [{ op: 'add', path: '/tags', value: tags }]))).toBe(413);
  });

  it('decodes JSON pointer escapes', () => {
    expect(attributeOfPath('/a~1b~0c')).toBe('a/b~c');
    expect(statusOf(() => attributeOfPath('/'))).toBe(400);
    expect(statusOf(() => attributeOfPath('//a'))).toBe(400);
  });
});
