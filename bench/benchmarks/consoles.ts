import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { qemuInstalled } from '../../host-agent/config.js';
import { createTenants, serverBody, sleep, type Tenant } from '../client.js';
import { startCloud, type BenchCloud, type CloudShape } from '../local-cloud.js';
import { childProcesses, processCpuMs, processMemory } from '../process-memory.js';
import type { Benchmark, BenchResult } from '../result.js';
import { summarize } from '../stats.js';
import { consoleHasMarker, ensureTestGuest, uploadTestGuest } from '../test-guest.js';

const CHROMIUM = '/usr/bin/chromium';
const ROUNDS = 5;
/** Guests held open at once: each takes 1 serial console and up to 4 VNC ones (the proxy's limits). */
const GUESTS = 6;
const VNC_PER_GUEST = 4;
/** Of the VNC consoles, this many are noVNC pages in Chromium; the others are raw RFB clients. */
const NOVNC_PAGES = 3;
const HOLD_MS = 10_000;
const SETTLE_MS = 3000;
/** Generous: 6 TCG guests boot at once, on a machine others may load too. */
const BOOT_TIMEOUT_MS = 480_000;
const DRAW_POLL_MS = 25;
const CHROMIUM_ARGS = ['--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** One host with the QEMU driver; 16.0 vCPU allocation so 6 × m1.tiny fit on a 2-CPU machine. */
const shape: CloudShape = { hosts: 1, driver: 'qemu', cpuAllocationRatio: 16 };

interface Ctx {
  cloud: BenchCloud;
  tenant: Tenant;
  browser: Browser;
  problems: string[];
}

/**
 * Consoles (#8): the time from `openstack console url show` (its API call, POST remote-consoles)
 * to noVNC's first framebuffer drawn in headless Chromium; then how many consoles one agent holds
 * at once (every guest's serial console and VNC sessions up to the per-guest limit, a few of
 * them noVNC pages) with the agent's RSS beside, and whether they all still answer.
 */
export const consoles: Benchmark = {
  name: 'consoles',
  unavailable: () =>
    !qemuInstalled() ? 'qemu-system-x86_64 is not installed' : !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed (Debian: apt-get install chromium)` : undefined,
  async run(): Promise<BenchResult> {
    const started = Date.now();
    const guestImage = await ensureTestGuest();
    const cloud = await startCloud(shape);
    const problems: string[] = [];
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const agentPid = childProcesses(cloud.info.pid, 'host-agent/host-agent.mjs')[0];
      if (!agentPid) throw new Error(`no host-agent/host-agent.mjs child of pid ${cloud.info.pid}`);
      const imageId = await uploadTestGuest(cloud, guestImage, 'bench-console-guest');
      const [tenant] = await createTenants(cloud.client, cloud.adminToken, 'bench-console', 1);
      const ctx: Ctx = { cloud, tenant, browser, problems };
      const instancesDir = join(cloud.stateDir, 'agents', 'host-1', 'instances');

      const ids = await bootGuests(ctx, imageId, GUESTS, instancesDir);
      const firstFrame = await timeToFirstFrame(ctx, ids[0]);
      const held = await holdConsoles(ctx, ids, agentPid);
      const f = firstFrame.summary;
      return {
        name: 'consoles',
        title: '16. consoles: console url show → first noVNC frame in Chromium; consoles one agent holds, with its RSS',
        cloud: { ...shape, boot_seconds: cloud.bootSeconds },
        method: [
          `the test guest (test/guest/) as m1.tiny, ${GUESTS} of them booted on one host-agent (QEMU driver, TCG here) and waited for until each printed its boot marker`,
          `time to first frame, ${ROUNDS} rounds on one guest: POST /servers/{id}/remote-consoles (vnc/novnc, microversion 2.8: what \`openstack console url show --novnc\` sends) sent at t0; a fresh Chromium page (headless, ${CHROMIUM}, playwright-core) opens the URL; times to the API answer, the page loaded, noVNC's "Connected", and the canvas first holding lit pixels (the guest's text screen drawn; polled every ${DRAW_POLL_MS} ms in the page)`,
          `held at once: per guest its serial console (a websocket client; later it types \`echo\` and waits for the answer) and ${VNC_PER_GUEST} VNC sessions (the proxy's per-guest limit, OSSN-0008), ${NOVNC_PAGES} of them noVNC pages in Chromium (each on its own guest) and the others raw RFB 3.8 clients over websockets (security None, shared, then an incremental FramebufferUpdateRequest every second); each console's URL from the API`,
          `the agent's VmRSS (from /proc, the host-agent process only, not QEMU) with no console open, after all are open and held ${HOLD_MS / 1000} s, and ${SETTLE_MS / 1000} s after all closed; its CPU time over the hold; one more VNC session on a full guest must be refused (409)`,
        ],
        metrics: { time_to_first_frame_ms: firstFrame.metrics, concurrent: held.metrics },
        summary: [
          `console url show → first frame drawn, median of ${ROUNDS}: ${ms(f.firstFrame)} (API answer ${ms(f.api)}, page loaded ${ms(f.loaded)}, noVNC connected ${ms(f.connected)})`,
          `${held.metrics.open} consoles held at once on one agent (${held.metrics.serial} serial, ${held.metrics.vnc_raw} raw VNC, ${held.metrics.novnc} noVNC; ${held.metrics.answering} answering after ${HOLD_MS / 1000} s): agent RSS ${held.metrics.rss_mb.idle} MB idle → ${held.metrics.rss_mb.held} MB held (+${held.metrics.rss_mb.per_console_kb} kB per console) → ${held.metrics.rss_mb.after_close} MB after closing; agent CPU ${held.metrics.agent_cpu_ms_during_hold} ms over the hold`,
        ],
        problems,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      await browser.close();
      await cloud.stop();
    }
  },
};

const ms = (v: number) => `${Math.round(v)} ms`;

async function bootGuests(ctx: Ctx, imageId: string, count: number, instancesDir: string): Promise<string[]> {
  const { client } = ctx.cloud;
  const posts = await Promise.all(
    Array.from({ length: count }, (_, k) => client.expect(202, 'POST', '/compute/v2.1/servers', { token: ctx.tenant.token, body: serverBody(`console-${k + 1}`, imageId) })),
  );
  const ids = posts.map((p) => p.body.server.id as string);
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  const ready = new Set<string>();
  while (ready.size < ids.length) {
    if (Date.now() > deadline) throw new Error(`only ${ready.size} of ${ids.length} guests booted in ${BOOT_TIMEOUT_MS / 1000} s`);
    for (const id of ids) if (!ready.has(id) && (await consoleHasMarker(join(instancesDir, id, 'console.log')))) ready.add(id);
    await sleep(500);
  }
  // ACTIVE too: the API gives consoles to ACTIVE servers only.
  for (const id of ids) {
    for (;;) {
      const shown = await client.expect(200, 'GET', `/compute/v2.1/servers/${id}`, { token: ctx.tenant.token });
      if (shown.body.server.status === 'ACTIVE') break;
      if (Date.now() > deadline) throw new Error(`server ${id} is ${shown.body.server.status}, not ACTIVE`);
      await sleep(250);
    }
  }
  return ids;
}

/** What `openstack console url show` sends (2.8 here), timed. */
async function consoleUrl(ctx: Ctx, id: string, protocol: 'vnc' | 'serial'): Promise<string> {
  const res = await fetch(`${ctx.cloud.client.apiUrl}/compute/v2.1/servers/${id}/remote-consoles`, {
    method: 'POST',
    headers: { 'X-Auth-Token': ctx.tenant.token, 'Content-Type': 'application/json', 'OpenStack-API-Version': 'compute 2.8' },
    body: JSON.stringify({ remote_console: { protocol, type: protocol === 'vnc' ? 'novnc' : 'serial' } }),
  });
  const body = (await res.json()) as { remote_console?: { url: string } };
  if (res.status !== 200 || !body.remote_console) throw new Error(`remote-consoles ${protocol} for ${id}: ${res.status} ${JSON.stringify(body)}`);
  return body.remote_console.url;
}

async function openNoVnc(ctx: Ctx, url: string): Promise<{ page: Page; loaded: number; connected: number; drawn: number }> {
  const page = await (await ctx.browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const t = performance.now();
  await page.goto(url, { waitUntil: 'load' });
  const loaded = performance.now() - t;
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Connected', undefined, { polling: DRAW_POLL_MS, timeout: 60_000 });
  const connected = performance.now() - t;
  await page.waitForFunction(
    () => {
      const canvas = document.querySelector<HTMLCanvasElement>('#screen canvas');
      if (!canvas || canvas.width < 100) return false;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length && n <= 200; i += 4) if (data[i] | data[i + 1] | data[i + 2]) n++;
      return n > 200;
    },
    undefined,
    { polling: DRAW_POLL_MS, timeout: 60_000 },
  );
  return { page, loaded, connected, drawn: performance.now() - t };
}

async function timeToFirstFrame(ctx: Ctx, id: string) {
  const rounds: { api: number; loaded: number; connected: number; first_frame: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const url = await consoleUrl(ctx, id, 'vnc');
    const api = performance.now() - t0;
    const { page, loaded, connected, drawn } = await openNoVnc(ctx, url);
    rounds.push({ api, loaded: api + loaded, connected: api + connected, first_frame: api + drawn });
    await page.context().close();
    await sleep(500);
  }
  const median = (k: keyof (typeof rounds)[number]) => summarize(rounds.map((x) => x[k])).p50;
  const summary = { api: median('api'), loaded: median('loaded'), connected: median('connected'), firstFrame: median('first_frame') };
  const ms1 = (v: number) => Math.round(v * 10) / 10;
  return {
    summary,
    metrics: {
      rounds: rounds.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, ms1(v)]))),
      api: summarize(rounds.map((x) => x.api)),
      page_loaded: summarize(rounds.map((x) => x.loaded)),
      connected: summarize(rounds.map((x) => x.connected)),
      first_frame: summarize(rounds.map((x) => x.first_frame)),
    },
  };
}

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { rejectUnauthorized: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`console refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The websocket inside a noVNC page URL (vnc_lite.html?path=%3Ftoken%3D...). */
const socketOf = (pageUrl: string) => {
  const page = new URL(pageUrl);
  return `wss://${page.host}/${page.searchParams.get('path')}`;
};

/**
 * A minimal RFB 3.8 viewer: version, security None, shared ClientInit, ServerInit, then a full
 * FramebufferUpdateRequest and an incremental one every second. Counts the bytes the guest sends.
 */
async function rawVnc(url: string): Promise<{ ws: WebSocket; bytes: () => number; stop: () => void }> {
  const ws = await openSocket(url);
  let buf = Buffer.alloc(0);
  let bytes = 0;
  let step = 0;
  let timer: NodeJS.Timeout | undefined;
  const request = (incremental: number, w: number, h: number) => {
    const m = Buffer.alloc(10);
    m.writeUInt8(3, 0);
    m.writeUInt8(incremental, 1);
    m.writeUInt16BE(w, 6);
    m.writeUInt16BE(h, 8);
    if (ws.readyState === ws.OPEN) ws.send(m);
  };
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('RFB handshake timed out')), 30_000);
    ws.on('message', (data: Buffer) => {
      bytes += data.length;
      if (step >= 4) return;
      buf = Buffer.concat([buf, data]);
      if (step === 0 && buf.length >= 12) {
        ws.send(Buffer.from('RFB 003.008\n'));
        buf = buf.subarray(12);
        step = 1;
      }
      if (step === 1 && buf.length >= 1 && buf.length >= 1 + buf[0]) {
        buf = buf.subarray(1 + buf[0]);
        ws.send(Buffer.from([1]));
        step = 2;
      }
      if (step === 2 && buf.length >= 4) {
        buf = buf.subarray(4);
        ws.send(Buffer.from([1]));
        step = 3;
      }
      if (step === 3 && buf.length >= 24 && buf.length >= 24 + buf.readUInt32BE(20)) {
        const w = buf.readUInt16BE(0);
        const h = buf.readUInt16BE(2);
        step = 4;
        request(0, w, h);
        timer = setInterval(() => request(1, w, h), 1000);
        clearTimeout(t);
        resolve();
      }
    });
  });
  return { ws, bytes: () => bytes, stop: () => clearInterval(timer) };
}

interface Serial {
  ws: WebSocket;
  output: string;
}

async function holdConsoles(ctx: Ctx, ids: string[], agentPid: number) {
  const idle = processMemory(agentPid);
  const serials: Serial[] = [];
  const raws: Awaited<ReturnType<typeof rawVnc>>[] = [];
  const pages: Page[] = [];
  for (const [k, id] of ids.entries()) {
    const serial: Serial = { ws: await openSocket(await consoleUrl(ctx, id, 'serial')), output: '' };
    serial.ws.on('message', (d: Buffer) => (serial.output += d.toString('utf8')));
    serials.push(serial);
    for (let v = 0; v < VNC_PER_GUEST; v++) {
      const url = await consoleUrl(ctx, id, 'vnc');
      if (v === 0 && k < NOVNC_PAGES) pages.push((await openNoVnc(ctx, url)).page);
      else raws.push(await rawVnc(socketOf(url)));
    }
  }
  // The guest's limit: a fifth VNC session is refused (409, as for a taken serial port).
  const fifth = await openSocket(socketOf(await consoleUrl(ctx, ids[0], 'vnc'))).then(
    (ws) => (ws.close(), 'opened'),
    (error: Error) => error.message,
  );
  if (fifth !== 'console refused: 409') ctx.problems.push(`a fifth VNC session on a full guest: ${fifth}, expected a 409`);

  const open = serials.length + raws.length + pages.length;
  const cpuBefore = processCpuMs(agentPid);
  const bytesBefore = raws.map((r) => r.bytes());
  await sleep(HOLD_MS);
  const held = processMemory(agentPid);
  const cpuDuring = processCpuMs(agentPid) - cpuBefore;

  // Still answering: each serial shell echoes, each raw viewer got updates, each page is still connected.
  let answering = 0;
  await Promise.all(
    serials.map(async (s, k) => {
      const marker = `HELD-${k}-${Date.now() % 100000}`;
      s.ws.send(`echo ${marker.replace('-', '-""')}\n`);
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
        if (s.output.includes(marker)) {
          answering++;
          return;
        }
      }
      ctx.problems.push(`serial console ${k} did not echo after the hold`);
    }),
  );
  raws.forEach((r, k) => {
    if (r.ws.readyState === r.ws.OPEN && r.bytes() > bytesBefore[k]) answering++;
    else if (r.ws.readyState !== r.ws.OPEN) ctx.problems.push(`raw VNC console ${k} closed during the hold`);
    else answering++; // open, but the guest's screen did not change: nothing to send
  });
  for (const [k, page] of pages.entries()) {
    if ((await page.textContent('#status')) === 'Connected') answering++;
    else ctx.problems.push(`noVNC page ${k} is no longer connected`);
  }

  for (const r of raws) {
    r.stop();
    r.ws.close();
  }
  for (const s of serials) s.ws.close();
  for (const p of pages) await p.context().close();
  await sleep(SETTLE_MS);
  const afterClose = processMemory(agentPid);
  return {
    metrics: {
      guests: ids.length,
      open,
      serial: serials.length,
      vnc_raw: raws.length,
      novnc: pages.length,
      answering,
      fifth_vnc_on_full_guest: fifth,
      agent_cpu_ms_during_hold: cpuDuring,
      rss_mb: {
        idle: idle.rss_mb,
        held: held.rss_mb,
        after_close: afterClose.rss_mb,
        peak: afterClose.peak_rss_mb,
        per_console_kb: Math.round(((held.rss_mb - idle.rss_mb) * 1024) / Math.max(1, open)),
      },
    },
  };
}
