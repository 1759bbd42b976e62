import { describe, expect, it } from 'vitest';
import { MAX_VERSION, MIN_VERSION } from '../../../functions/api/compute/microversion.js';
import { legacyVersionDoc, versionDoc, versionsDoc } from '../../../functions/api/compute/versions.js';

describe('compute version documents', () => {
  it('lists v2.0 as DEPRECATED and v2.1 as CURRENT with the supported microversion range, as Nova does', () => {
    expect(versionsDoc('http://cloud.test/compute')).toEqual({
      versions: [
        { id: 'v2.0', status: 'DEPRECATED', version: '', min_version: '', updated: '2025-07-04T12:00:00Z', links: [{ href: 'http://cloud.test/compute/v2/', rel: 'self' }] },
        {
          id: 'v2.1',
          status: 'CURRENT',
          version: MAX_VERSION,
          min_version: MIN_VERSION,
          updated: '2013-07-23T11:33:21Z',
          links: [{ href: 'http://cloud.test/compute/v2.1/', rel: 'self' }],
        },
      ],
    });
  });

  it('describes v2.1 with its media type', () => {
    const doc = versionDoc('http://cloud.test/compute').version;
    expect(doc.id).toBe('v2.1');
    expect(doc.version).toBe(MAX_VERSION);
    expect(doc['media-types']).toEqual([{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }]);
    expect(doc.links[0]).toEqual({ href: 'http://cloud.test/compute/v2.1/', rel: 'self' });
  });

  it('describes v2.0 as the sample does', () => {
    const doc = legacyVersionDoc('http://cloud.test/compute').version;
    expect(doc).toMatchObject({ id: 'v2.0', status: 'DEPRECATED', version: '', min_version: '' });
    expect(doc['media-types']).toEqual([{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }]);
  });
});
