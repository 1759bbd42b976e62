import '../support/cloud-env.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { getQuotaUsage, listProjectInstances } from '../../shared/store/instances.js';
import { api, issueToken, waitFor } from '../support/cloud.js';
import { uniqueName } from '../support/fixtures.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * Parallel creates race for the last units of a project's quota (10 instances, 20 cores by
 * default): the quota item and the instances are written in one conditional transaction, so
 * the accepted requests never add up to more than the quota, whatever the interleaving.
 */
describe('parallel creates beyond quota never exceed it', () => {
  let adminToken: string;
  let imageId: string;

  beforeAll(async () => {
    adminToken = await issueToken();
    imageId = await uploadTestImage(uniqueName('quota-image'), adminToken);
  });

  const create = (p: ProjectMember, name: string, counts: { min_count?: number; max_count: number }) =>
    api('POST', '/compute/v2.1/servers', {
      token: p.token,
      headers: { 'OpenStack-API-Version': 'compute 2.37' },
      body: { server: { name, imageRef: imageId, flavorRef: '1', networks: 'none', return_reservation_id: true, ...counts } },
    });

  /** The quota item always equals what the table holds for the project. */
  async function expectQuotaMatchesTable(p: ProjectMember): Promise<number> {
    const instances = await listProjectInstances(p.projectId);
    expect(await getQuotaUsage(p.projectId)).toEqual({
      instances: instances.length,
      cores: instances.reduce((n, i) => n + i.flavor.vcpus, 0),
      ram: instances.reduce((n, i) => n + i.flavor.ram, 0),
    });
    return instances.length;
  }

  async function deleteAll(p: ProjectMember): Promise<void> {
    const instances = await listProjectInstances(p.projectId);
    const deletes = await Promise.all(instances.map((i) => api('DELETE', `/compute/v2.1/servers/${i.id}`, { token: p.token })));
    expect(deletes.map((d) => d.status)).toEqual(instances.map(() => 204));
    await waitFor(`every server of ${p.project} gone`, async () => (await listProjectInstances(p.projectId)).length === 0, 60_000, 300);
    expect(await getQuotaUsage(p.projectId)).toEqual({ instances: 0, cores: 0, ram: 0 });
  }

  it('max_count beyond the quota creates as many as fit, at least min_count (as Nova)', async () => {
    const project = await createProjectMember(uniqueName('quota-partial'), adminToken);
    expect((await create(project, 'first', { max_count: 4 })).status).toBe(202);
    const partial = await create(project, 'rest', { min_count: 2, max_count: 12 });
    expect(partial.status).toBe(202);
    expect(await expectQuotaMatchesTable(project)).toBe(10);
    const refused = await create(project, 'none-left', { min_count: 1, max_count: 5 });
    expect(refused.status).toBe(403);
    expect(refused.body.forbidden.message).toMatch(/Quota exceeded for instances/);
    await deleteAll(project);
  });

  it('25 parallel single creates: exactly 10 accepted, 15 refused with 403 Quota exceeded', async () => {
    const project = await createProjectMember(uniqueName('quota-single'), adminToken);
    const responses = await Promise.all(Array.from({ length: 25 }, (_, n) => create(project, `q-${n}`, { max_count: 1 })));
    const accepted = responses.filter((r) => r.status === 202);
    const refused = responses.filter((r) => r.status === 403);
    expect(accepted.length + refused.length).toBe(25);
    // A refusal happens only when the quota is really used up, so exactly the quota is accepted.
    expect(accepted).toHaveLength(10);
    for (const r of refused) expect(r.body.forbidden.message).toMatch(/Quota exceeded for instances/);
    expect(await expectQuotaMatchesTable(project)).toBe(10);

    // Once full, another create is refused too, and the usage does not move.
    expect((await create(project, 'one-more', { max_count: 1 })).status).toBe(403);
    expect(await expectQuotaMatchesTable(project)).toBe(10);

    await deleteAll(project);
  });

  it('a mix of multi-creates (max_count 3, min_count 3) and single creates never exceeds the quota', async () => {
    const project = await createProjectMember(uniqueName('quota-mix'), adminToken);
    const wanted = [...Array(6).fill(3), ...Array(6).fill(1)] as number[];
    const responses = await Promise.all(
      wanted.map((n, k) => create(project, `mix-${k}`, n === 3 ? { min_count: 3, max_count: 3 } : { max_count: 1 })),
    );
    for (const r of responses) expect([202, 403]).toContain(r.status);
    const instances = await listProjectInstances(project.projectId);
    // Each accepted request created exactly its count, under its own reservation; refused ones created nothing.
    const byReservation = new Map<string, number>();
    for (const i of instances) byReservation.set(i.reservation_id, (byReservation.get(i.reservation_id) ?? 0) + 1);
    const acceptedCounts = responses.flatMap((r, k) => (r.status === 202 ? [wanted[k]] : []));
    expect(responses.filter((r) => r.status === 202).map((r) => byReservation.get(r.body.reservation_id)).sort()).toEqual([...acceptedCounts].sort());
    expect(byReservation.size).toBe(acceptedCounts.length);
    const total = acceptedCounts.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(10);
    // The requests left behind could not have fitted: whatever is left is smaller than every refused request.
    const refusedSizes = responses.flatMap((r, k) => (r.status === 403 ? [wanted[k]] : []));
    for (const size of refusedSizes) expect(total + size).toBeGreaterThan(10);
    expect(await expectQuotaMatchesTable(project)).toBe(total);

    await deleteAll(project);
  });
});
