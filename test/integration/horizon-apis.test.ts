import '../support/cloud-env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmState } from '../../shared/domain/instance-states.js';
import type { Instance } from '../../shared/domain/instance.js';
import { createInstances, removeInstance } from '../../shared/store/instances.js';
import { api, cloud, issueToken } from '../support/cloud.js';
import { newInstance, uniqueName } from '../support/fixtures.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * What Horizon's clients read before anything else works: glance's schemas (glanceclient builds
 * every image model from them), glance's error bodies (glanceclient parses them by content type),
 * and a server's volume attachments (the instance page lists them).
 */
let adminToken: string;
let member: ProjectMember;
let other: ProjectMember;
let instance: Instance;

const MISSING_IMAGE = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  adminToken = await issueToken();
  [member, other] = await Promise.all([createProjectMember(uniqueName('hz-p'), adminToken), createProjectMember(uniqueName('hz-o'), adminToken)]);
  // Written straight into the table: the attachments API only needs a server the caller can see.
  instance = newInstance(member.projectId, { vm_state: VmState.ACTIVE, task_state: null, task_deadline: null });
  await createInstances([instance], { instances: 10, cores: 10, ram: 10_000 });
});

afterAll(async () => {
  if (instance) await removeInstance(instance);
});

describe("glance's schemas", () => {
  it('serves the image schema with the formats, visibilities and states this image API takes', async () => {
    const res = await api('GET', '/image/v2/schemas/image', { token: member.token });
    expect(res.status).toBe(200);
    const schema = res.body;
    expect(schema.name).toBe('image');
    expect(schema.additionalProperties).toEqual({ type: 'string' });
    expect(schema.links).toEqual([
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ]);
    expect(schema.properties.disk_format.enum).toEqual([null, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']);
    expect(schema.properties.container_format.enum).toEqual([null, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed']);
    expect(schema.properties.visibility.enum).toEqual(['public', 'private', 'shared', 'community']);
    expect(schema.properties.status).toMatchObject({ readOnly: true, type: 'string' });
    expect(schema.properties.os_distro).toMatchObject({ type: 'string', is_base: false });
    expect(schema.properties.name.is_base).toBeUndefined();
  });

  it('serves the images, member and members schemas', async () => {
    const images = (await api('GET', '/image/v2/schemas/images', { token: member.token })).body;
    expect(images.properties.images.items.name).toBe('image');
    expect(Object.keys(images.properties).sort()).toEqual(['first', 'images', 'next', 'schema']);
    const memberSchema = (await api('GET', '/image/v2/schemas/member', { token: member.token })).body;
    expect(memberSchema.name).toBe('member');
    expect(memberSchema.properties.status.enum).toEqual(['pending', 'accepted', 'rejected']);
    const members = (await api('GET', '/image/v2/schemas/members', { token: member.token })).body;
    expect(members.properties.members.additionalProperties.name).toBe('member');
  });

  it('needs a token, as all of glance does', async () => {
    expect((await api('GET', '/image/v2/schemas/image')).status).toBe(401);
  });
});

describe("glance's metadata definitions: an empty catalog", () => {
  const get = (path: string) =>
    fetch(`${cloud().apiUrl}/image/v2${path}`, { headers: { 'X-Auth-Token': member.token, Accept: 'application/json' } }).then(async (r) => ({ status: r.status, body: await r.json() }));

  it('lists no namespaces, with the links glance gives', async () => {
    expect(await get('/metadefs/namespaces?resource_type=OS::Glance::Image')).toEqual({
      status: 200,
      body: { namespaces: [], first: '/v2/metadefs/namespaces?resource_type=OS%3A%3AGlance%3A%3AImage', schema: '/v2/schemas/metadefs/namespaces' },
    });
    expect((await get('/metadefs/resource_types')).body).toEqual({ resource_types: [] });
  });

  it("checks the list query in glance's words; a marker or a namespace that does not exist is a 404", async () => {
    expect((await get('/metadefs/namespaces?limit=-1')).body.message).toMatch(/^limit param must be positive/);
    expect((await get('/metadefs/namespaces?sort_dir=up')).body.message).toMatch(/^Invalid sort direction: up/);
    expect((await get('/metadefs/namespaces?marker=OS::Compute::Watchdog')).status).toBe(404);
    const show = await get('/metadefs/namespaces/OS::Compute::Watchdog');
    expect(show.status).toBe(404);
    expect(show.body.message).toMatch(/^Metadata definition namespace=OS::Compute::Watchdog was not found\./);
  });

  it("serves glance's namespace schemas, which glanceclient reads before listing", async () => {
    const namespace = (await get('/schemas/metadefs/namespace')).body;
    expect(namespace).toMatchObject({ name: 'namespace', required: ['namespace'], additionalProperties: false });
    expect(namespace.properties.visibility.enum).toEqual(['public', 'private']);
    const namespaces = (await get('/schemas/metadefs/namespaces')).body;
    expect(namespaces.properties.namespaces.items.name).toBe('namespace');
  });
});

describe("glance's error bodies", () => {
  const show = (accept?: string) =>
    fetch(`${cloud().apiUrl}/image/v2/images/${MISSING_IMAGE}`, { headers: { 'X-Auth-Token': member.token, ...(accept !== undefined && { Accept: accept }) } });

  it('answers */* with HTML and application/json with a flat JSON body, as webob does', async () => {
    const html = await show('*/*');
    expect(html.status).toBe(404);
    expect(html.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(await html.text()).toContain(`<h1>404 Not Found</h1>\n  No image found with ID ${MISSING_IMAGE}<br /><br />`);
    const json = await show('application/json');
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ message: `No image found with ID ${MISSING_IMAGE}<br /><br />\n\n\n`, code: '404 Not Found', title: 'Not Found' });
  });

  it('keeps keystonemiddleware\'s JSON body for a missing token', async () => {
    const res = await fetch(`${cloud().apiUrl}/image/v2/images`);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe(401);
  });
});

describe('os-volume_attachments without a volume service', () => {
  const attachments = (path: string, token: string, version = '2.1') =>
    api('GET', `/compute/v2.1/servers/${instance.id}/os-volume_attachments${path}`, { token, headers: { 'OpenStack-API-Version': `compute ${version}` } });

  it('lists no attachments for a server the caller sees', async () => {
    const res = await attachments('', member.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ volumeAttachments: [] });
    expect((await attachments('?limit=5&offset=0', member.token, '2.89')).body).toEqual({ volumeAttachments: [] });
    expect((await attachments('', adminToken)).status).toBe(200);
  });

  it("is a 404 for another project's server and for a missing one", async () => {
    const res = await attachments('', other.token);
    expect(res.status).toBe(404);
    expect(res.body.itemNotFound.message).toBe(`Instance ${instance.id} could not be found.`);
    const missing = await api('GET', `/compute/v2.1/servers/${MISSING_IMAGE}/os-volume_attachments`, { token: member.token });
    expect(missing.status).toBe(404);
  });

  it("checks the query as Nova's schema does: non-negative integers, unknown parameters refused from 2.75", async () => {
    expect((await attachments('?limit=-1', member.token)).status).toBe(400);
    expect((await attachments('?offset=x', member.token)).status).toBe(400);
    expect((await attachments('?foo=1', member.token, '2.74')).status).toBe(200);
    const strict = await attachments('?foo=1', member.token, '2.75');
    expect(strict.status).toBe(400);
    expect(strict.body.badRequest.message).toContain("'foo' was unexpected");
  });

  it('shows no attachment: Nova\'s 404 for a volume not attached', async () => {
    const res = await attachments(`/${MISSING_IMAGE}`, member.token);
    expect(res.status).toBe(404);
    expect(res.body.itemNotFound.message).toBe(`Instance ${instance.id} is not attached to volume ${MISSING_IMAGE}`);
    expect((await attachments(`/${MISSING_IMAGE}`, other.token)).body.itemNotFound.message).toBe(`Instance ${instance.id} could not be found.`);
  });
});
