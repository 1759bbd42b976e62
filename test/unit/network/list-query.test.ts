import { describe, expect, it } from 'vitest';
import { applyListQuery } from '../../../functions/api/network/list-query.js';
import { ApiError } from '../../../shared/errors.js';

const views = [
  { id: 'a', name: 'shared', shared: true, subnets: ['s1'], fixed_ips: [{ ip_address: '10.0.0.5' }] },
  { id: 'b', name: 'private', shared: false, subnets: [], fixed_ips: [] },
];
const ATTRS = ['id', 'name', 'shared', 'subnets'];
const ids = (query: string) => applyListQuery(views, new URLSearchParams(query), ATTRS).map((v) => v.id);

describe("Neutron's list query", () => {
  it('filters by attributes (a repeated key is an OR), booleans the way Neutron reads them', () => {
    expect(ids('name=shared')).toEqual(['a']);
    expect(ids('shared=True&name=other&name=shared')).toEqual(['a']);
    expect(ids('shared=0')).toEqual(['b']);
    expect(ids('subnets=s1')).toEqual(['a']);
  });

  it('refuses unknown attributes and non-booleans', () => {
    expect(() => ids('colour=blue')).toThrow(ApiError);
    expect(() => ids('shared=maybe')).toThrow(ApiError);
  });

  it('sorts, pages and picks fields', () => {
    expect(ids('sort_key=name&sort_dir=asc')).toEqual(['b', 'a']);
    expect(ids('sort_key=name&limit=1')).toEqual(['b']);
    expect(ids('sort_key=name&marker=b')).toEqual(['a']);
    expect(applyListQuery(views, new URLSearchParams('fields=id&fields=name'), ATTRS)).toEqual([{ id: 'a', name: 'shared' }, { id: 'b', name: 'private' }]);
  });
});
