import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloud } from '../support/cloud.js';
import { configureTempest } from './configure.js';
import { resultsDir, runTempest, summary } from './run-tempest.js';

/**
 * The quick part of upstream tempest's compute API tests, against the shared test cloud (fake
 * driver): flavors, key pairs, server lists and filters, limits, availability zones, versions.
 * The whole of `tempest.api.compute` is `npm run tempest` (CI runs it after `npm test`).
 */
const QUICK = [
  'flavors\\.',
  'keypairs\\.',
  'servers\\.test_list_servers_negative\\.',
  'servers\\.test_list_server_filters\\.',
  'servers\\.test_servers\\.ServersTestJSON\\.',
  'limits\\.',
  'test_versions\\.',
  'admin\\.test_availability_zone\\.',
];

describe('tempest (quick part)', () => {
  it('passes flavors, keypairs, servers list and the like', async () => {
    const workspace = join(resultsDir, 'quick');
    await configureTempest(cloud(), workspace, { concurrency: 2, prefix: 'tempest-quick-' });
    const result = await runTempest({ name: 'quick', workspace, regex: `^tempest\\.api\\.compute\\.(${QUICK.join('|')})`, concurrency: 2 });
    // The failing tests' ids and tempest's output are in the message when this fails.
    expect(result.failed, `${summary(result)}\nsee ${workspace}/tempest-run.log`).toBe(0);
    expect(result.passed).toBeGreaterThan(40);
  }, 600_000);
});
