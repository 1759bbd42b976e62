import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { consolePrivateKey } from '../../shared/console/console-keys.js';
import { mintConsoleToken } from '../../shared/console/console-token.js';
import { freePort } from '../../infra/local/emulators.js';
import { api, cloud, createProjectUser, issueToken, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import { agentConsoleCert, buildTestGuest, countMarker, killAgent, killQemusOf, startQemuAgent, stopAgent, type QemuAgentOptions } from '../support/qemu-agents.js';

/**
 * Consoles end to end: a real QEMU guest on a real host agent, `openstack console url show`
 * through the real API, the URL opened in Debian's Chromium (noVNC from the agent's console
 * proxy), the serial console typed into over a websocket, and the token rules (single use,
 * expiry, host and instance binding, Origin) seen from the outside.
 */

type Row = Record<string, unknown>;
const suffix = Date.now().toString(36);
const hostName = `qcon-${suffix}`;
const zone = `console-zone-${suffix}`;
const BOOT_MS = 120_000;
const CHROMIUM = '/usr/bin/chromium';

describe('consoles: noVNC in a browser and the serial console, through the host agent', () => {
  let baseDir: string;
  let agentOptions: QemuAgentOptions;
  let agent: ChildProcess | undefined;
  let user: Credentials;
  let userToken: string;
  let adminToken: string;
  let imageId: string;
  let serverId: string;
  let browser: Browser;
  const serverIds = new Set<string>();

  const ca = () => readFileSync(agentConsoleCert(agentOptions));

  async function consoleUrl(kind: '--novnc' | '--serial', extra: string[] = []): Promise<string> {
    const row = await openstackJson<Row>([...extra, 'console', 'url', 'show', kind, serverId], user);
    return String(row.url);
  }

  /** A websocket to the console proxy, as tempest opens it: subprotocol binary, no Origin unless given. */
  function openSocket(url: string, origin?: string): Promise<{ ws?: WebSocket; status?: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, ['binary'], { ca: ca(), ...(origin ? { origin } : {}) });
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.once('error', () => resolve({ status: -1 }));
    });
  }

  /** A plain GET to the console proxy, trusting its certificate. */
  function getPath(path: string): Promise<{ status: number; location?: string; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: agentOptions.consolePort, path, ca: ca() }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The websocket URL inside a noVNC page URL (vnc_lite.html?path=%3Ftoken%3D...). */
  const socketUrlOf = (pageUrl: string) => {
    const page = new URL(pageUrl);
    return `wss://${page.host}/${page.searchParams.get('path')}`;
  };

  const mintedToken = async (over: Partial<{ instanceId: string; host: string; ttl: number; issuedAt: number; protocol: 'vnc' | 'serial' }>) => {
    const key = consolePrivateKey(readFileSync(cloud().consoleKeyFile, 'utf8'), 'test');
    const { token } = await mintConsoleToken(
      key,
      { host: over.host ?? hostName, instanceId: over.instanceId ?? serverId, protocol: over.protocol ?? 'vnc', projectId: 'p', userId: 'u' },
      over.ttl ?? 600,
      over.issuedAt ?? Date.now(),
    );
    return `wss://127.0.0.1:${agentOptions.consolePort}/?token=${token}`;
  };

  async function consoleLog(): Promise<string> {
    const res = await api('POST', `/compute/v2.1/servers/${serverId}/action`, { token: adminToken, body: { 'os-getConsoleOutput': {} } });
    return res.status === 200 ? String(res.body.output) : '';
  }

  beforeAll(async () => {
    baseDir = mkdtempSync('/tmp/nc-');
    agentOptions = { host: hostName, zone, baseDir, heartbeatSeconds: 2, consolePort: await freePort() };
    const [guestImage, who, token] = await Promise.all([buildTestGuest(), createProjectUser(`console-${suffix}`), issueToken()]);
    user = who;
    adminToken = token;
    userToken = await issueToken(user);
    agent = startQemuAgent(agentOptions);
    await waitFor(`host ${hostName} to be up`, async () => (await openstackJson<Row[]>(['compute', 'service', 'list', '--host', hostName])).some((r) => r.State === 'up'), 90_000, 1000);
    const image = await openstackJson(['image', 'create', '--file', guestImage, '--disk-format', 'qcow2', '--container-format', 'bare', `console-guest-${suffix}`], user);
    imageId = String(image.id);
    await waitFor('the image to be active', async () => (await openstackJson(['image', 'show', imageId], user)).status === 'active', 60_000, 1000);
    const server = await openstackJson(['server', 'create', '--image', imageId, '--flavor', 'm1.tiny', '--availability-zone', zone, '--wait', `console-${suffix}`], user);
    serverId = String(server.id);
    serverIds.add(serverId);
    expect(server.status).toBe('ACTIVE');
    await waitFor('the guest to be ready', async () => countMarker(await consoleLog(), 'NOVALESS-GUEST-READY') >= 1, BOOT_MS, 1000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    if (agent && (agent.exitCode !== null || agent.signalCode !== null)) agent = startQemuAgent(agentOptions);
    for (const id of serverIds) await openstack(['server', 'delete', '--wait', id], user, BOOT_MS).catch(() => undefined);
    if (imageId) await openstack(['image', 'delete', imageId], user).catch(() => undefined);
    await openstack(['compute', 'service', 'set', '--disable', '--disable-reason', 'consoles e2e finished', hostName, 'nova-compute']).catch(() => undefined);
    if (agent) await stopAgent(agent);
    await killQemusOf(serverIds);
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(baseDir, { recursive: true, force: true });
  }, 300_000);

  it('opens `console url show --novnc` in Chromium: noVNC connects and draws the guest screen', async () => {
    const url = await consoleUrl('--novnc');
    expect(url).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${agentOptions.consolePort}/vnc_lite\\.html\\?path=%3Ftoken%3D[A-Za-z0-9_.-]+$`));
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    try {
      await page.goto(url);
      expect(await page.content()).toContain('noVNC');
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Connected', undefined, { timeout: 30_000 });
      expect(await page.evaluate(() => document.body.dataset.desktopName)).toBe(`QEMU (${serverId})`);
      // Drawn: a region of the canvas with more than a few non-black pixels (the guest's text screen).
      const lit = await page.waitForFunction(
        () => {
          const canvas = document.querySelector<HTMLCanvasElement>('#screen canvas');
          if (!canvas || canvas.width < 100) return false;
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i] | data[i + 1] | data[i + 2]) n++;
          return n > 200 ? { n, width: canvas.width, height: canvas.height } : false;
        },
        undefined,
        { polling: 250, timeout: 60_000 },
      );
      const drawn = (await lit.jsonValue()) as { n: number; width: number; height: number };
      expect(drawn.width).toBeGreaterThanOrEqual(640);
      const shot = await page.locator('#screen canvas').screenshot({ path: join(baseDir, 'novnc.png') });
      expect(shot.length).toBeGreaterThan(1000);
    } finally {
      await page.close();
    }
    // The same URL again: the page loads, the websocket is refused.
    const again = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    try {
      await again.goto(url);
      await again.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Disconnected'), undefined, { timeout: 30_000 });
    } finally {
      await again.close();
    }
    expect((await openSocket(socketUrlOf(url))).status).toBe(403);
  }, 180_000);

  it('types into the serial console over a websocket and reads the output; console log show keeps the boot', async () => {
    const url = await consoleUrl('--serial');
    expect(url).toMatch(new RegExp(`^wss://127\\.0\\.0\\.1:${agentOptions.consolePort}/\\?token=[A-Za-z0-9_.-]+$`));
    const { ws, status } = await openSocket(url);
    expect(status).toBeUndefined();
    let output = '';
    ws!.on('message', (data: Buffer) => {
      output += data.toString('utf8');
    });
    ws!.send('\n');
    ws!.send(Buffer.from('echo SERIAL-$((6*7))-OK\n'));
    await waitFor('the shell to answer on the serial console', async () => output.includes('SERIAL-42-OK'), 30_000, 200);
    ws!.close();
    expect(countMarker(await openstack(['console', 'log', 'show', serverId], user), 'NOVALESS-GUEST-BOOTED')).toBe(1);
    await waitFor('the typed command in the console log', async () => (await consoleLog()).includes('SERIAL-42-OK'), 30_000, 1000);
    // Single use as well.
    expect((await openSocket(url)).status).toBe(403);
  }, 120_000);

  it('opens the serial URL in Chromium (xterm.js at https://<host>/?token=...): typed keys reach the shell, its output shows', async () => {
    const url = await consoleUrl('--serial');
    const pageUrl = url.replace(/^wss:/, 'https:');
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    // A CSP refusal (xterm.js writes <style> elements) or a script error shows here.
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(pageUrl);
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Connected', undefined, { timeout: 15_000 });
      await page.locator('#terminal .xterm').click();
      await page.keyboard.press('Enter');
      await page.keyboard.type('echo BROWSER-$((6*7))-OK');
      await page.keyboard.press('Enter');
      // Only the shell's answer has 42 in it: the echoed command line has $((6*7)).
      await page.waitForFunction(() => document.querySelector('#terminal .xterm-rows')?.textContent?.includes('BROWSER-42-OK'), undefined, { timeout: 15_000, polling: 200 });
      await page.screenshot({ path: join(baseDir, 'serial.png') });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
    // The same URL again: the page loads, the websocket is refused.
    const again = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    try {
      await again.goto(pageUrl);
      await again.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Disconnected'), undefined, { timeout: 15_000 });
    } finally {
      await again.close();
    }
    expect((await openSocket(url)).status).toBe(403);
  }, 60_000);

  it('uses the legacy os-getVNCConsole action below 2.6, as the CLI does with an older microversion', async () => {
    const url = await consoleUrl('--novnc', ['--os-compute-api-version', '2.1']);
    expect(url).toContain('/vnc_lite.html?path=%3Ftoken%3D');
    const { ws } = await openSocket(socketUrlOf(url));
    const hello = await new Promise<Buffer>((resolve) => ws!.once('message', (d: Buffer) => resolve(d)));
    expect(hello.toString()).toBe('RFB 003.008\n');
    expect(ws!.protocol).toBe('binary');
    ws!.close();
  }, 60_000);

  it('refuses expired tokens, tokens for another instance or host, forged and malformed ones, and a foreign Origin', async () => {
    expect((await openSocket(await mintedToken({ issuedAt: Date.now() - 120_000, ttl: 60 }))).status).toBe(403);
    expect((await openSocket(await mintedToken({ instanceId: randomUUID() }))).status).toBe(403);
    expect((await openSocket(await mintedToken({ host: 'some-other-host' }))).status).toBe(403);
    const good = await mintedToken({});
    const [header, payload] = new URL(good).searchParams.get('token')!.split('.');
    expect((await openSocket(`wss://127.0.0.1:${agentOptions.consolePort}/?token=${header}.${payload}.AAAA`)).status).toBe(403);
    expect((await openSocket(`wss://127.0.0.1:${agentOptions.consolePort}/?token=bad-token`)).status).toBe(403);
    expect((await openSocket(`wss://127.0.0.1:${agentOptions.consolePort}/`)).status).toBe(403);
    expect((await openSocket(good, 'https://evil.example')).status).toBe(403);
    // Refused for its Origin, the token is still unused: with the proxy's own Origin it opens.
    const { ws } = await openSocket(good, `https://127.0.0.1:${agentOptions.consolePort}`);
    expect(ws).toBeDefined();
    ws!.close();
    // No redirect, no file outside noVNC's.
    for (const path of ['//example.com/%2F..', '///example.com/', '/novnc/../package.json', '/novnc/core/..%2f..%2fpackage.json', '/novnc/package.json', '/xterm/package.json']) {
      const res = await getPath(path);
      expect([path, res.location]).toEqual([path, undefined]);
      expect([400, 404]).toContain(res.status);
    }
    const page = await getPath('/vnc_auto.html');
    expect([page.status, page.body.includes('noVNC') && page.body.includes('<script')]).toEqual([200, true]);
  }, 60_000);

  it('answers bad console requests with Nova statuses, never a 500', async () => {
    const post = (body: unknown, version = '2.8', token = userToken) =>
      api('POST', `/compute/v2.1/servers/${serverId}/remote-consoles`, { token, body, headers: { 'OpenStack-API-Version': `compute ${version}` } });
    const action = (body: unknown, version = '2.1', token = userToken) =>
      api('POST', `/compute/v2.1/servers/${serverId}/action`, { token, body, headers: { 'OpenStack-API-Version': `compute ${version}` } });
    expect((await post({ remote_console: { protocol: 'telnet', type: 'novnc' } })).status).toBe(400);
    expect((await post({ remote_console: { protocol: 'vnc' } })).status).toBe(400);
    expect((await post({ remote_console: { protocol: 'vnc', type: 'novnc', extra: 1 } })).status).toBe(400);
    const invalid = await post({ remote_console: { protocol: 'vnc', type: 'serial' } });
    expect([invalid.status, invalid.body.badRequest?.message]).toEqual([400, 'Invalid console type serial']);
    const spice = await post({ remote_console: { protocol: 'spice', type: 'spice-html5' } });
    expect([spice.status, spice.body.badRequest?.message]).toEqual([400, 'Unavailable console type spice-html5.']);
    const rdp = await post({ remote_console: { protocol: 'rdp', type: 'rdp-html5' } });
    expect([rdp.status, rdp.body.badRequest?.message]).toEqual([400, 'Unavailable console type rdp.']);
    expect((await post({ remote_console: { protocol: 'mks', type: 'webmks' } }, '2.6')).status).toBe(400);
    expect((await post({ remote_console: { protocol: 'vnc', type: 'novnc' } }, '2.5')).status).toBe(404);
    const ok = await post({ remote_console: { protocol: 'serial', type: 'serial' } }, '2.6');
    expect([ok.status, ok.body.remote_console?.protocol, ok.body.remote_console?.type]).toEqual([200, 'serial', 'serial']);

    expect((await action({ 'os-getVNCConsole': { type: 'xvpvnc' } })).status).toBe(400);
    expect((await action({ 'os-getVNCConsole': {} })).status).toBe(400);
    expect((await action({ 'os-getVNCConsole': { type: 'novnc' } }, '2.6')).status).toBe(404);
    expect((await action({ 'os-getSPICEConsole': { type: 'spice-html5' } })).status).toBe(400);
    expect((await action({ 'os-getRDPConsole': { type: 'rdp-html5' } })).status).toBe(400);
    const legacy = await action({ 'os-getSerialConsole': { type: 'serial' } });
    expect([legacy.status, legacy.body.console?.type]).toEqual([200, 'serial']);
    expect(legacy.body.console.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/\?token=/);

    // Another project's member sees no such server.
    const stranger = await createProjectUser(`console-stranger-${suffix}`);
    expect((await post({ remote_console: { protocol: 'vnc', type: 'novnc' } }, '2.8', await issueToken(stranger))).status).toBe(404);
    expect((await post({ remote_console: { protocol: 'vnc', type: 'novnc' } }, '2.8')).status).toBe(200);
  }, 120_000);

  it('shows a token to admins with os-console-auth-tokens (2.31), 403 to members, 404 for a bad token', async () => {
    const url = await consoleUrl('--novnc');
    const token = decodeURIComponent(new URL(url).searchParams.get('path')!).replace('?token=', '');
    const show = (t: string, who: string, version = '2.31') =>
      api('GET', `/compute/v2.1/os-console-auth-tokens/${t}`, { token: who, headers: { 'OpenStack-API-Version': `compute ${version}` } });
    const shown = await show(token, adminToken);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ console: { instance_uuid: serverId, host: hostName, port: agentOptions.consolePort, internal_access_path: null } });
    expect((await show(token, userToken)).status).toBe(403);
    expect((await show(token, adminToken, '2.30')).status).toBe(400);
    expect((await show('not-a-token', adminToken)).status).toBe(404);
    expect((await show(`${token.slice(0, -4)}AAAA`, adminToken)).status).toBe(404);
    // Once the agent has used it, the API knows (through the conductor queue): 404, as Nova's for a used token.
    const { ws } = await openSocket(socketUrlOf(url));
    expect(ws).toBeDefined();
    ws!.close();
    await waitFor('the used token to be 404', async () => (await show(token, adminToken)).status === 404, 30_000, 500);
  }, 60_000);

  it('shows each console session in `openstack server event list`, by who opened it, finished when it ends', async () => {
    const userId = String((await openstackJson(['user', 'show', user.username])).id);
    const url = await consoleUrl('--serial');
    const { ws } = await openSocket(url);
    expect(ws).toBeDefined();
    type Event = { 'Request ID': string; Action: string };
    const session = await waitFor(
      'the console action',
      async () => {
        const events = await openstackJson<Event[]>(['server', 'event', 'list', serverId], user);
        const consoles = await Promise.all(
          events.filter((e) => e.Action === 'console').map((e) => openstackJson<Row>(['server', 'event', 'show', serverId, e['Request ID']])),
        );
        return consoles.find((c) => (c.events as Row[]).some((e) => e.finish_time === null));
      },
      30_000,
      1000,
    );
    expect(session).toMatchObject({ action: 'console', user_id: userId, message: null });
    expect(session.events).toEqual([expect.objectContaining({ event: 'compute_console_connect', result: null, finish_time: null })]);
    ws!.close();
    const finished = await waitFor(
      'the console event to finish',
      async () => {
        const shown = await openstackJson<Row>(['server', 'event', 'show', serverId, String(session.request_id)]);
        return (shown.events as Row[])[0].result === 'Success' ? shown : undefined;
      },
      30_000,
      1000,
    );
    const [event] = finished.events as Row[];
    expect(Date.parse(`${String(event.finish_time)}Z`)).toBeGreaterThanOrEqual(Date.parse(`${String(event.start_time)}Z`));
  }, 90_000);

  it('closes an open console when the server stops, and refuses consoles while it is stopped (409)', async () => {
    const { ws } = await openSocket(await consoleUrl('--serial'));
    const closed = new Promise<number>((resolve) => ws!.once('close', (code: number) => resolve(code)));
    await openstack(['server', 'stop', serverId], user);
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 90_000))])).toBe(1000);
    await waitFor('the server to be SHUTOFF', async () => (await openstackJson(['server', 'show', serverId], user)).status === 'SHUTOFF', 90_000, 1000);
    const refused = await api('POST', `/compute/v2.1/servers/${serverId}/remote-consoles`, {
      token: userToken,
      body: { remote_console: { protocol: 'vnc', type: 'novnc' } },
      headers: { 'OpenStack-API-Version': 'compute 2.6' },
    });
    expect(refused.status).toBe(409);
    await openstack(['server', 'start', serverId], user);
    await waitFor('the server to be ACTIVE', async () => (await openstackJson(['server', 'show', serverId], user)).status === 'ACTIVE', 90_000, 1000);
  }, 240_000);

  it('keeps a used token refused after kill -9 of the agent and a restart', async () => {
    const url = socketUrlOf(await consoleUrl('--novnc'));
    const { ws } = await openSocket(url);
    expect(ws).toBeDefined();
    ws!.close();
    await killAgent(agent!);
    agent = startQemuAgent(agentOptions);
    await waitFor('the restarted console proxy to listen', async () => (await getPath('/vnc_lite.html').catch(() => undefined))?.status === 200, 60_000, 500);
    expect((await openSocket(url)).status).toBe(403);
  }, 120_000);
});
