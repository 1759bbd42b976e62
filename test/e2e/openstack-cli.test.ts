import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQcow2, makeSshKey } from '../support/cli-artifacts.js';
import { openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';

/**
 * The boot path a user walks with the real `openstack` CLI, in order, against the shared cloud:
 * each step asserts what the cloud says back, not only that the command exited 0.
 */

type Row = Record<string, unknown>;

const suffix = Date.now().toString(36);
const imageName = `e2e-cli-image-${suffix}`;
const keyName = `e2e-cli-key-${suffix}`;
const serverName = `e2e-cli-server-${suffix}`;
const multiName = `e2e-cli-multi-${suffix}`;
const secretName = `e2e-cli-private-${suffix}`;

/** Hypervisor usage as `openstack hypervisor list --long` shows it, by hypervisor hostname. */
async function hypervisorUsage(): Promise<Record<string, { vcpusUsed: unknown; memoryUsed: unknown }>> {
  const rows = await openstackJson<Row[]>(['hypervisor', 'list', '--long']);
  return Object.fromEntries(rows.map((r) => [String(r['Hypervisor Hostname']), { vcpusUsed: r['vCPUs Used'], memoryUsed: r['Memory MB Used'] }]));
}

/** `openstack limits show --absolute` as a name → value map. */
async function absoluteLimits(): Promise<Record<string, unknown>> {
  const rows = await openstackJson<{ Name: string; Value: unknown }[]>(['limits', 'show', '--absolute']);
  return Object.fromEntries(rows.map((r) => [r.Name, r.Value]));
}

/** The IPv4 addresses a server has on a network, from the CLI's `addresses` field (a dict, or `net=ip, ip` text). */
function addressesOn(addresses: unknown, network: string): string[] {
  if (addresses && typeof addresses === 'object') return ((addresses as Record<string, string[]>)[network] ?? []).map(String);
  const text = String(addresses ?? '');
  const m = new RegExp(`${network}=([^;]+)`).exec(text);
  return m ? m[1].split(',').map((s) => s.trim()) : [];
}

const serverNames = async () => (await openstackJson<Row[]>(['server', 'list'])).map((r) => String(r.Name));

describe('the openstack CLI against the local cloud', () => {
  let dir: string;
  let image: { path: string; size: number; md5: string };
  let imageId: string;
  let serverId: string;
  let serverHost: string;
  let usageBefore: Awaited<ReturnType<typeof hypervisorUsage>>;
  const cleanup: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'novaless-e2e-cli-'));
  });

  afterAll(async () => {
    for (const id of cleanup) await openstack(['server', 'delete', '--wait', id]).catch(() => undefined);
    if (imageId) await openstack(['image', 'delete', imageId]).catch(() => undefined);
    await openstack(['keypair', 'delete', keyName]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('issues a project-scoped token', async () => {
    const token = await openstackJson(['token', 'issue']);
    expect(token.project_id).toMatch(/^[0-9a-f]{32}$/);
    expect(typeof token.id).toBe('string');
    expect(Date.parse(String(token.expires))).toBeGreaterThan(Date.now());
  });

  it('lists the default flavors', async () => {
    const names = (await openstackJson<Row[]>(['flavor', 'list'])).map((f) => f.Name);
    expect(names).toEqual(expect.arrayContaining(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']));
  });

  it('uploads a qcow2 image that becomes active with the file size and md5', async () => {
    image = await makeQcow2(dir);
    const created = await openstackJson([
      'image', 'create', '--file', image.path, '--disk-format', 'qcow2', '--container-format', 'bare', imageName,
    ]);
    imageId = String(created.id);
    expect(created.name).toBe(imageName);
    // openstackclient 6.0.0 prints the image as the create call returned it (before the upload,
    // so `queued`, as with Glance); what the upload made of it is what `image show` says.
    const shown = await openstackJson(['image', 'show', imageId]);
    expect(shown.status).toBe('active');
    expect(Number(shown.size)).toBe(image.size);
    expect(shown.checksum).toBe(image.md5);
    expect(shown.disk_format).toBe('qcow2');
    expect(shown.container_format).toBe('bare');

    const listed = await openstackJson<Row[]>(['image', 'list']);
    expect(listed).toContainEqual(expect.objectContaining({ ID: imageId, Name: imageName, Status: 'active' }));
  });

  it('imports an ssh public key with the fingerprint ssh-keygen computes', async () => {
    const key = await makeSshKey(dir);
    const created = await openstackJson(['keypair', 'create', '--public-key', key.publicKeyFile, keyName]);
    expect(created.name).toBe(keyName);
    expect(created.fingerprint).toBe(key.md5Fingerprint);
  });

  it('boots a server to ACTIVE on a host with an address on the shared network', async () => {
    usageBefore = await hypervisorUsage();
    const server = await openstackJson([
      'server', 'create', '--flavor', 'm1.tiny', '--image', imageName, '--key-name', keyName, '--wait', serverName,
    ]);
    serverId = String(server.id);
    cleanup.push(serverId);
    expect(server.status).toBe('ACTIVE');
    serverHost = String(server['OS-EXT-SRV-ATTR:host']);
    expect(Object.keys(usageBefore)).toContain(serverHost);
    expect(server.key_name).toBe(keyName);
    const [address] = addressesOn(server.addresses, 'shared');
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const listed = await openstackJson<Row[]>(['server', 'list']);
    expect(listed).toContainEqual(expect.objectContaining({ ID: serverId, Name: serverName, Status: 'ACTIVE' }));

    const shown = await openstackJson(['server', 'show', serverId]);
    expect(shown).toMatchObject({ id: serverId, name: serverName, status: 'ACTIVE', key_name: keyName, 'OS-EXT-SRV-ATTR:host': serverHost });
    expect(addressesOn(shown.addresses, 'shared')).toEqual([address]);
    expect(String(shown.flavor)).toContain('m1.tiny');
    expect(String(shown.image)).toContain(imageId);
  });

  it('shows the host as an up and enabled nova-compute service and an up hypervisor', async () => {
    const services = await openstackJson<Row[]>(['compute', 'service', 'list']);
    expect(services).toContainEqual(expect.objectContaining({ Binary: 'nova-compute', Host: serverHost, Status: 'enabled', State: 'up', Zone: 'nova' }));

    const hypervisors = await openstackJson<Row[]>(['hypervisor', 'list']);
    expect(hypervisors).toContainEqual(expect.objectContaining({ 'Hypervisor Hostname': serverHost, State: 'up' }));
    const usageNow = await hypervisorUsage();
    expect(Number(usageNow[serverHost].vcpusUsed)).toBe(Number(usageBefore[serverHost].vcpusUsed) + 1);
    expect(Number(usageNow[serverHost].memoryUsed)).toBe(Number(usageBefore[serverHost].memoryUsed) + 512);

    const zones = await openstackJson<Row[]>(['availability', 'zone', 'list']);
    expect(zones).toContainEqual(expect.objectContaining({ 'Zone Name': 'nova', 'Zone Status': 'available' }));
  });

  it('counts the server in the absolute limits', async () => {
    const limits = await absoluteLimits();
    expect(limits.maxTotalInstances).toBe(10);
    const instancesOfProject = (await openstackJson<Row[]>(['server', 'list'])).length;
    expect(limits.totalInstancesUsed).toBe(instancesOfProject);
    expect(limits.totalInstancesUsed).toBeGreaterThanOrEqual(1);
  });

  it('deletes the server and gives its host resources back', async () => {
    const usedBefore = (await absoluteLimits()).totalInstancesUsed as number;
    await openstack(['server', 'delete', '--wait', serverId]);
    cleanup.splice(cleanup.indexOf(serverId), 1);
    expect(await serverNames()).not.toContain(serverName);
    await expect(openstack(['server', 'show', serverId])).rejects.toThrow(/No server with a name or ID/);
    expect(await hypervisorUsage()).toEqual(usageBefore);
    expect((await absoluteLimits()).totalInstancesUsed).toBe(usedBefore - 1);
  });

  it("hides one project's server from another project's user", async () => {
    // The project, user and role as an operator makes them, with the CLI.
    const name = `e2e-cli-outsider-${suffix}`;
    const outsider: Credentials = { username: name, password: `pw-${suffix}`, project: name };
    await openstack(['project', 'create', '--domain', 'default', name]);
    await openstack(['user', 'create', '--domain', 'default', '--project', name, '--password', outsider.password, name]);
    await openstack(['role', 'add', '--project', name, '--user', name, 'member']);
    const server = await openstackJson(['server', 'create', '--flavor', 'm1.tiny', '--image', imageName, '--wait', secretName]);
    const id = String(server.id);
    cleanup.push(id);
    expect(server.status).toBe('ACTIVE');

    await expect(openstack(['server', 'show', id], outsider)).rejects.toThrow(/No server with a name or ID/);
    await expect(openstack(['server', 'delete', id], outsider)).rejects.toThrow(/No server with a name or ID/);
    expect(await openstackJson<Row[]>(['server', 'list'], outsider)).toEqual([]);

    await openstack(['server', 'delete', '--wait', id]);
    cleanup.splice(cleanup.indexOf(id), 1);
    expect(await serverNames()).not.toContain(secretName);
  });

  it("boots with --nic none and --nic auto at microversion 2.37, which sends them as Nova's 'none' and 'auto'", async () => {
    const at237 = ['--os-compute-api-version', '2.37'];
    const none = await openstackJson([...at237, 'server', 'create', '--flavor', 'm1.tiny', '--image', imageName, '--nic', 'none', '--wait', `${multiName}-none`]);
    const auto = await openstackJson([...at237, 'server', 'create', '--flavor', 'm1.tiny', '--image', imageName, '--nic', 'auto', '--wait', `${multiName}-auto`]);
    cleanup.push(String(none.id), String(auto.id));
    expect(addressesOn(none.addresses, 'shared')).toEqual([]);
    expect(addressesOn(auto.addresses, 'shared')).toHaveLength(1);
    await openstack(['server', 'delete', '--wait', String(none.id), String(auto.id)]);
    cleanup.length = 0;
  });

  it('boots two servers with --min 2 --max 2, named NAME-1 and NAME-2', async () => {
    const usageStart = await hypervisorUsage();
    await openstack(['server', 'create', '--flavor', 'm1.tiny', '--image', imageName, '--min', '2', '--max', '2', '--wait', multiName]);
    const pair = await waitFor(
      'both servers ACTIVE',
      async () => {
        const rows = (await openstackJson<Row[]>(['server', 'list', '--name', `^${multiName}-`])).filter((r) => r.Status === 'ACTIVE');
        return rows.length === 2 ? rows : undefined;
      },
      60_000,
      1000,
    );
    cleanup.push(...pair.map((r) => String(r.ID)));
    expect(pair.map((r) => r.Name).sort()).toEqual([`${multiName}-1`, `${multiName}-2`]);

    await openstack(['server', 'delete', '--wait', ...pair.map((r) => String(r.ID))]);
    cleanup.length = 0;
    expect((await serverNames()).filter((n) => n.startsWith(multiName))).toEqual([]);
    expect(await hypervisorUsage()).toEqual(usageStart);
  });
});
