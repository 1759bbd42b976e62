import { describe, expect, it } from 'vitest';
import { filterNetworks, sharedNetworkView } from '../../../functions/api/network/networks.js';
import { SHARED_NETWORK_ID } from '../../../functions/api/network/shared-network.js';
import { ApiError } from '../../../shared/errors.js';

const networks = [sharedNetworkView('nova')];
const ids = (query: string) => filterNetworks(networks, new URLSearchParams(query)).map((n) => n.id);

describe('network list filters', () => {
  it('finds the shared network by name, id and shared flag (as openstacksdk find_network asks)', () => {
    expect(ids('name=shared')).toEqual([SHARED_NETWORK_ID]);
    expect(ids(`id=${SHARED_NETWORK_ID}`)).toEqual([SHARED_NETWORK_ID]);
    expect(ids('shared=true')).toEqual([SHARED_NETWORK_ID]);
    expect(ids('shared=True&name=other&name=shared')).toEqual([SHARED_NETWORK_ID]);
    expect(ids('name=private')).toEqual([]);
    expect(ids('shared=false')).toEqual([]);
  });

  it('rejects unknown filter attributes and non-boolean booleans', () => {
    expect(() => ids('colour=blue')).toThrow(ApiError);
    expect(() => ids('shared=maybe')).toThrow(ApiError);
  });

  it('returns only the requested fields', () => {
    expect(filterNetworks(networks, new URLSearchParams('fields=id&fields=name'))).toEqual([{ id: SHARED_NETWORK_ID, name: 'shared' }]);
  });
});
