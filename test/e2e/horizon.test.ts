import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCredentials, api, cloud, issueToken, waitFor, type Credentials } from '../support/cloud.js';
import { horizonErrors, startHorizon, type Horizon } from '../support/horizon.js';
import { uploadTestImage } from '../support/images.js';
import { createProjectMember, type ProjectMember } from '../support/projects.js';

/**
 * Debian's Horizon (openstack-dashboard, unmodified, under Django's own server) against the shared
 * test cloud, driven in headless Chromium the way an operator and a project member use it: the
 * pages load without a 500 or an error message, and the Launch Instance wizard, Shut Off and
 * Start work from the instances table.
 */

const suffix = Date.now().toString(36);
const imageName = `horizon-image-${suffix}`;
const networkName = `horizon-net-${suffix}`;
const keyName = `horizon-key-${suffix}`;
const serverName = `horizon-vm-${suffix}`;
const CHROMIUM = '/usr/bin/chromium';

describe('Horizon (Debian openstack-dashboard) against the local cloud', () => {
  let horizon: Horizon;
  let browser: Browser;
  let member: ProjectMember;
  let adminToken: string;
  let imageId: string;
  let serverId: string | undefined;
  /** One page logged in as the member for every member step (each login costs seconds). */
  let memberPage: Page;
  /** Responses of 500 and above the browser got from Horizon, and every failed call of its REST API (/api/...). */
  const serverErrors: string[] = [];

  async function loggedIn(who: Credentials): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('response', (r) => {
      if (r.status() >= 500 || (r.status() >= 400 && new URL(r.url()).pathname.startsWith('/api/'))) serverErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    await page.goto(`${horizon.url}/auth/login/`);
    await page.fill('#id_username', who.username);
    await page.fill('#id_password', who.password);
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/auth/')), page.click('#loginBtn')]);
    return page;
  }

  /** Asserts that nothing failed since `mark` (a length of Horizon's log): no 500 or failed API call, no error logged, no error message shown. */
  async function expectNoErrors(page: Page, mark: number, where: string): Promise<void> {
    expect(serverErrors, where).toEqual([]);
    expect(horizonErrors(horizon.log().slice(mark)), where).toEqual([]);
    expect(await page.locator('.alert-danger:visible').allInnerTexts(), where).toEqual([]);
  }

  /** Opens a page, waits for its API calls to settle and for `shows` to appear on it, and checks that nothing failed. */
  async function visit(page: Page, path: string, shows: string): Promise<void> {
    const mark = horizon.log().length;
    const res = await page.goto(`${horizon.url}${path}`);
    expect(res?.status(), path).toBe(200);
    await page.waitForLoadState('networkidle');
    await page.getByText(shows, { exact: false }).first().waitFor({ timeout: 20_000 });
    await expectNoErrors(page, mark, path);
  }

  const instanceRow = (page: Page) => page.locator('#instances tbody tr', { hasText: serverName });

  /** Waits for the instances table (Horizon refreshes a row in a task state by itself) to show the status. */
  async function waitForRowStatus(page: Page, status: string): Promise<void> {
    await waitFor(`${serverName} to show ${status} in the instances table`, async () => (await instanceRow(page).innerText()).includes(`\t${status}\t`), 60_000, 250);
  }

  /** A raw API call (as the member unless a token is given) that must succeed; returns its body. */
  async function call(method: string, path: string, body?: unknown, token = member.token) {
    const res = await api(method, path, { token, body });
    if (res.status >= 300) throw new Error(`${method} ${path} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  const server = async () => (await call('GET', `/compute/v2.1/servers/${serverId}`)).server;

  beforeAll(async () => {
    const starting = startHorizon(cloud().authUrl);
    adminToken = await issueToken();
    [member, imageId] = await Promise.all([createProjectMember(`horizon-${suffix}`, adminToken), uploadTestImage(imageName, adminToken)]);
    // A network of the member's own beside the shared one, so the wizard's network step is a real choice.
    const { network } = await call('POST', '/networking/v2.0/networks', { network: { name: networkName } });
    await call('POST', '/networking/v2.0/subnets', { subnet: { name: `${networkName}-subnet`, network_id: network.id, cidr: '192.168.77.0/24', ip_version: 4 } });
    await call('POST', '/compute/v2.1/os-keypairs', { keypair: { name: keyName } });
    horizon = await starting;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    memberPage = await loggedIn(member);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await horizon?.stop();
    if (!member) return;
    if (serverId) {
      await api('DELETE', `/compute/v2.1/servers/${serverId}`, { token: member.token });
      const gone = async () => (await api('GET', `/compute/v2.1/servers/${serverId}`, { token: member.token })).status === 404;
      await waitFor('the server to be deleted', gone, 60_000, 250).catch(() => undefined);
    }
    await api('DELETE', `/compute/v2.1/os-keypairs/${keyName}`, { token: member.token });
    const { networks } = (await api('GET', `/networking/v2.0/networks?name=${networkName}`, { token: member.token })).body;
    for (const n of networks ?? []) await api('DELETE', `/networking/v2.0/networks/${n.id}`, { token: member.token });
    if (imageId) await api('DELETE', `/image/v2/images/${imageId}`, { token: adminToken });
  }, 120_000);

  it('shows a member the overview, instances, images (and its Create Image dialog) and key pairs pages', async () => {
    await visit(memberPage, '/project/', 'Limit Summary');
    await visit(memberPage, '/project/instances/', 'Launch Instance');
    await visit(memberPage, '/project/images/', imageName);
    // The Create Image dialog reads glance's metadata definitions before it opens.
    const mark = horizon.log().length;
    await memberPage.getByText('Create Image').first().click();
    await memberPage.locator('.modal-dialog').getByText('Image Details').first().waitFor();
    await memberPage.waitForLoadState('networkidle');
    await expectNoErrors(memberPage, mark, 'Create Image dialog');
    await memberPage.locator('.modal-dialog').getByText('Cancel').click();
    await visit(memberPage, '/project/key_pairs/', keyName);
  }, 120_000);

  it('shows an admin the hypervisors', async () => {
    const { hypervisors } = await call('GET', '/compute/v2.1/os-hypervisors', undefined, adminToken);
    expect(hypervisors.length).toBeGreaterThan(0);
    const page = await loggedIn(adminCredentials());
    try {
      await visit(page, '/admin/hypervisors/', String(hypervisors[0].hypervisor_hostname));
    } finally {
      await page.close();
    }
  }, 120_000);

  it('launches an instance with the Launch Instance wizard: name, image, flavor, network', async () => {
    const page = memberPage;
    await visit(page, '/project/instances/', 'Launch Instance');
    const mark = horizon.log().length;
    await page.getByText('Launch Instance', { exact: true }).first().click();
    const wizard = page.locator('.modal-dialog');
    await wizard.locator('input[name=name]').fill(serverName);

    await wizard.locator('.wizard-nav').getByText('Source').click();
    await wizard.locator('tr', { hasText: imageName }).locator('button').first().click();

    await wizard.locator('.wizard-nav').getByText('Flavor').click();
    await wizard.locator('tr', { hasText: 'm1.tiny' }).locator('button').first().click();

    await wizard.locator('.wizard-nav').getByText('Networks', { exact: true }).click();
    await wizard.locator('tr', { hasText: networkName }).locator('button').first().click();

    await wizard.locator('button.finish').click();
    await wizard.waitFor({ state: 'detached', timeout: 30_000 });
    await waitForRowStatus(page, 'Active');
    await expectNoErrors(page, mark, 'launch');

    const { servers } = await call('GET', `/compute/v2.1/servers?name=${encodeURIComponent(`^${serverName}$`)}`);
    expect(servers).toHaveLength(1);
    serverId = String(servers[0].id);
    const booted = await server();
    expect(booted.status).toBe('ACTIVE');
    expect(Object.keys(booted.addresses)).toEqual([networkName]);
    expect(booted.flavor.id).toBe('1'); // m1.tiny
    expect(booted.image.id).toBe(imageId);
  }, 120_000);

  it('shows the instance page: overview, interfaces and action log', async () => {
    expect(serverId).toBeDefined();
    await visit(memberPage, `/project/instances/${serverId}/`, serverName);
    await visit(memberPage, `/project/instances/${serverId}/?tab=instance_details__interface`, networkName);
    await visit(memberPage, `/project/instances/${serverId}/?tab=instance_details__audit`, 'create');
  }, 120_000);

  it('shuts the instance off and starts it again from the instances table', async () => {
    expect(serverId).toBeDefined();
    const page = memberPage;
    await visit(page, '/project/instances/', serverName);
    let mark = horizon.log().length;
    await instanceRow(page).locator('.dropdown-toggle').click();
    await instanceRow(page).locator('.dropdown-menu').getByText('Shut Off Instance').click();
    await page.locator('.modal-footer .btn-danger, .modal-footer .btn-primary').first().click();
    await page.getByText(`Success: Shut Off Instance: ${serverName}`).waitFor();
    await waitForRowStatus(page, 'Shutoff');
    await expectNoErrors(page, mark, 'shut off');
    expect((await server()).status).toBe('SHUTOFF');

    mark = horizon.log().length;
    await instanceRow(page).getByText('Start Instance').click();
    await page.getByText(`Success: Started Instance: ${serverName}`).waitFor();
    await waitForRowStatus(page, 'Active');
    await expectNoErrors(page, mark, 'start');
    expect((await server()).status).toBe('ACTIVE');
  }, 120_000);
});
