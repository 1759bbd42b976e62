import { describe, expect, it } from 'vitest';
import { pageLinks, parseImageListQuery, selectImages } from '../../../functions/api/image/image-filters.js';
import { imageVisibleTo } from '../../../functions/api/image/image-policy.js';
import type { Image } from '../../../shared/domain/image.js';
import { anImage, caller, statusOf } from './support.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const at = (n: number) => `2024-05-01T10:00:${String(n).padStart(2, '0')}.000Z`;

const images: Image[] = [
  anImage({ id: id(1), name: 'mine-private', owner: 'a', visibility: 'private', created_at: at(1), status: 'active', size: 100 }),
  anImage({ id: id(2), name: 'mine-shared', owner: 'a', visibility: 'shared', created_at: at(2), tags: ['x', 'y'] }),
  anImage({ id: id(3), name: 'theirs-private', owner: 'b', visibility: 'private', created_at: at(3) }),
  anImage({ id: id(4), name: 'public', owner: 'b', visibility: 'public', created_at: at(4), status: 'active', size: 500, properties: { os_distro: 'cirros' } }),
  anImage({ id: id(5), name: 'theirs-community', owner: 'b', visibility: 'community', created_at: at(5) }),
  anImage({ id: id(6), name: 'hidden', owner: 'a', visibility: 'private', created_at: at(6), os_hidden: true }),
];

const names = (query: string, who = caller('a')) =>
  selectImages(images, parseImageListQuery(new URLSearchParams(query)), who).page.map((i) => i.name);

describe('image visibility', () => {
  it('shows private and shared images to their owner and admins only; public and community to all', () => {
    const [priv, shared, , pub, community] = images;
    for (const image of [priv, shared]) {
      expect(imageVisibleTo(image, caller('a'))).toBe(true);
      expect(imageVisibleTo(image, caller('c'))).toBe(false);
      expect(imageVisibleTo(image, caller('c', ['admin']))).toBe(true);
    }
    expect(imageVisibleTo(pub, caller('c'))).toBe(true);
    expect(imageVisibleTo(community, caller('c'))).toBe(true);
  });
});

describe('image list filters', () => {
  it('lists what the caller sees, newest first, without others\' community images or hidden ones', () => {
    expect(names('')).toEqual(['public', 'mine-shared', 'mine-private']);
  });

  it('lets admins see every project\'s images, still without others\' community images', () => {
    expect(names('', caller('z', ['admin']))).toEqual(['public', 'theirs-private', 'mine-shared', 'mine-private']);
  });

  it('filters by visibility, including community and all', () => {
    expect(names('visibility=community')).toEqual(['theirs-community']);
    expect(names('visibility=all')).toEqual(['theirs-community', 'public', 'mine-shared', 'mine-private']);
    expect(names('visibility=private')).toEqual(['mine-private']);
    expect(statusOf(() => names('visibility=everyone'))).toBe(400);
  });

  it('filters by name, status, owner, tags, size, os_hidden and extra properties', () => {
    expect(names('name=public')).toEqual(['public']);
    expect(names('status=active')).toEqual(['public', 'mine-private']);
    expect(names('owner=b')).toEqual(['public']);
    expect(names('tag=x&tag=y')).toEqual(['mine-shared']);
    expect(names('tag=x&tag=z')).toEqual([]);
    expect(names('size_min=200')).toEqual(['public']);
    expect(names('size_max=200')).toEqual(['mine-private']);
    expect(names('os_hidden=true')).toEqual(['hidden']);
    expect(names('os_distro=cirros')).toEqual(['public']);
    expect(statusOf(() => names('status=bogus'))).toBe(400);
    expect(statusOf(() => names('limit=-1'))).toBe(400);
  });

  it('sorts by sort_key/sort_dir or sort', () => {
    expect(names('sort_key=name&sort_dir=asc')).toEqual(['mine-private', 'mine-shared', 'public']);
    expect(names('sort=name:desc')).toEqual(['public', 'mine-shared', 'mine-private']);
    expect(statusOf(() => names('sort_key=bogus'))).toBe(400);
    expect(statusOf(() => names('sort=name:sideways'))).toBe(400);
  });

  it('pages with limit and marker, with glance\'s first and next links', () => {
    const all = caller('a');
    const query = new URLSearchParams('limit=2&visibility=all');
    const first = selectImages(images, parseImageListQuery(query), all);
    expect(first.page.map((i) => i.name)).toEqual(['theirs-community', 'public']);
    expect(first.more).toBe(true);
    const links = pageLinks(query, first.page, first.more);
    expect(links).toEqual({ first: '/v2/images?limit=2&visibility=all', next: `/v2/images?limit=2&visibility=all&marker=${id(4)}` });

    const nextQuery = new URLSearchParams(links.next!.split('?')[1]);
    const second = selectImages(images, parseImageListQuery(nextQuery), all);
    expect(second.page.map((i) => i.name)).toEqual(['mine-shared', 'mine-private']);
    expect(second.more).toBe(false);
    expect(pageLinks(nextQuery, second.page, second.more)).toEqual({ first: '/v2/images?limit=2&visibility=all' });
  });

  it('rejects a marker the caller cannot see', () => {
    expect(statusOf(() => names(`marker=${id(3)}`))).toBe(400);
    expect(statusOf(() => names('marker=nope'))).toBe(400);
  });
});
