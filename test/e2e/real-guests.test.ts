import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHost, canMakeNamespaces, topologyFor } from '../../infra/local/network-topology.js';
import { QmpClient } from '../../host-agent/drivers/qemu/qmp-client.js';
import { api, cloud, createProjectUser, issueToken, openstack, openstackJson, waitFor, type Credentials } from '../support/cloud.js';
import {
  agentLogFile,
  agentStateDir,
  buildTestGuest,
  countMarker,
  killAgent,
  killQemusOf,
  qemuPidsOf,
  startQemuAgent,
  stopAgent,
  type QemuAgentOptions,
} from '../support/qemu-agents.js';

/**
 * Real guests: the test guest image booted by a host agent with the QEMU driver (TCG), driven
 * with the real `openstack` CLI through every server action, then the faults an agent must
 * survive (kill -9 of the agent while a guest runs and while it spawns one, a guest's QEMU
 * killed under it). The shared cloud's fake host-1 is left alone: this suite's own agent serves
 * its own availability zone and every server is booted into that zone.
 */

type Row = Record<string, unknown>;

const suffix = Date.now().toString(36);
// Short: QEMU's unix sockets live in <state dir>/instances/<uuid>/ and a socket path has at most 107 bytes.
const hostName = `qe2e-${suffix}`;
const zone = `qemu-e2e-zone-${suffix}`;
const imageName = `qemu-e2e-guest-${suffix}`;
const snapName = `qemu-e2e-snap-${suffix}`;
const serverName = `Qemu-E2E-Main-${suffix}`;
const BOOTED = 'NOVALESS-GUEST-BOOTED';
const READY = 'NOVALESS-GUEST-READY';
/** Generous: machines are shared and TCG is slow. */
const BOOT_MS = 120_000;

/** What `hostnameOf` in functions/api/compute/server-create.ts makes of a server name. */
const hostnameOf = (name: string) => name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');

describe('real QEMU guests through the openstack CLI', () => {
  let baseDir: string;
  let agentOptions: QemuAgentOptions;
  let agent: ChildProcess | undefined;
  let user: Credentials;
  let adminToken: string;
  let imageId: string;
  let mainId: string;
  /** Servers still to delete; every server this suite made, for the leftover-QEMU check. */
  const serverIds = new Set<string>();
  const everyServerId = new Set<string>();
  const imageIds = new Set<string>();

  const instanceDir = (id: string) => join(agentStateDir(agentOptions), 'instances', id);
  /** A second QEMU host in the zone, for the unshelve: disabled once the server runs there, so the later tests stay on the first. */
  const otherHost = `qe2f-${suffix}`;
  let otherOptions: QemuAgentOptions | undefined;
  let other: ChildProcess | undefined;

  /** The server as the API shows it to admin (raw HTTP: cheap to poll). */
  async function serverOf(id: string): Promise<Row | undefined> {
    const res = await api('GET', `/compute/v2.1/servers/${id}`, { token: adminToken });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`server show ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.server as Row;
  }

  /** Polls until the server has this status and no task state; fails at once on ERROR. */
  async function waitForStatus(id: string, status: string, timeoutMs = BOOT_MS): Promise<Row> {
    return waitFor(`server ${id} to be ${status}`, async () => {
      const s = await serverOf(id);
      if (!s) throw new Error(`server ${id} is gone`);
      if (s.status === 'ERROR' && status !== 'ERROR') throw new Error(`server ${id} went to ERROR: ${JSON.stringify(s.fault)}`);
      return s.status === status && s['OS-EXT-STS:task_state'] === null ? s : undefined;
    }, timeoutMs, 500);
  }

  async function consoleOf(id: string): Promise<string> {
    const res = await api('POST', `/compute/v2.1/servers/${id}/action`, { token: adminToken, body: { 'os-getConsoleOutput': {} } });
    return res.status === 200 ? String(res.body.output) : '';
  }

  /** Polls the console (published by the agent every ~3 s) until `booted` boot markers and as many ready markers are in it. */
  async function waitForBoots(id: string, booted: number, timeoutMs = BOOT_MS): Promise<string> {
    return waitFor(`${booted} boot(s) of ${id} on its console`, async () => {
      const text = await consoleOf(id);
      return countMarker(text, BOOTED) >= booted && countMarker(text, READY) >= booted ? text : undefined;
    }, timeoutMs, 1000);
  }

  /** `openstack hypervisor show` of this suite's host: the usage fields. */
  async function hypervisorUsage(): Promise<{ vcpus_used: unknown; memory_mb_used: unknown; running_vms: unknown }> {
    const h = await openstackJson(['hypervisor', 'show', hostName]);
    return { vcpus_used: h.vcpus_used, memory_mb_used: h.memory_mb_used, running_vms: h.running_vms };
  }

  async function hostIsUp(): Promise<boolean> {
    const rows = await openstackJson<Row[]>(['compute', 'service', 'list', '--host', hostName]);
    return rows.some((r) => r.State === 'up' && r.Status === 'enabled');
  }

  /** How many times the agent's log says it started polling its queue (once per agent start). */
  const pollingStarts = () => (existsSync(agentLogFile(agentOptions)) ? readFileSync(agentLogFile(agentOptions), 'utf8').split('polling for commands').length - 1 : 0);

  async function restartAgent(): Promise<void> {
    const before = pollingStarts();
    agent = startQemuAgent(agentOptions);
    await waitFor('the restarted agent to poll its queue', async () => pollingStarts() > before, 60_000, 200);
  }

  /** `server create --wait`; the CLI prints a line, not JSON, when the server goes to ERROR. */
  async function createServer(name: string, image: string): Promise<Row> {
    const out = await openstack(
      ['server', 'create', '--image', image, '--flavor', 'm1.tiny', '--availability-zone', zone, '--wait', name, '-f', 'json'],
      user,
      BOOT_MS,
    );
    if (!out.trimStart().startsWith('{')) {
      const shown = await openstackJson(['server', 'show', name], user).catch(() => undefined);
      if (shown?.id) track(String(shown.id));
      throw new Error(`server create ${name}: ${out.trim()}; fault: ${JSON.stringify(shown?.fault)}`);
    }
    const server = JSON.parse(out) as Row;
    track(String(server.id));
    return server;
  }

  function track(id: string): void {
    serverIds.add(id);
    everyServerId.add(id);
  }

  async function deleteServer(id: string): Promise<void> {
    await openstack(['server', 'delete', '--wait', id], user, BOOT_MS);
    serverIds.delete(id);
  }

  beforeAll(async () => {
    // /tmp, not tmpdir(): a long TMPDIR would push the guests' QMP socket paths past 107 bytes.
    baseDir = mkdtempSync('/tmp/nq-');
    // As root, the agent and its guests get a host namespace of the shared cloud's networks:
    // guest taps and rules never land in the machine's own namespace.
    const network = (await canMakeNamespaces()).ok ? await addHost(topologyFor(cloud().stateDir), `qe${suffix.slice(-5)}`, 150) : undefined;
    agentOptions = { host: hostName, zone, baseDir, heartbeatSeconds: 2, network };
    const [guestImage, who, token] = await Promise.all([buildTestGuest(), createProjectUser(`qemu-e2e-${suffix}`), issueToken()]);
    user = who;
    adminToken = token;
    agent = startQemuAgent(agentOptions);
    await waitFor(`host ${hostName} to register and be up`, hostIsUp, 90_000, 1000);
    const image = await openstackJson(
      ['image', 'create', '--file', guestImage, '--disk-format', 'qcow2', '--container-format', 'bare', imageName],
      user,
    );
    imageId = String(image.id);
    imageIds.add(imageId);
    await waitFor('the guest image to be active', async () => (await openstackJson(['image', 'show', imageId], user)).status === 'active', 60_000, 1000);
  }, 300_000);

  afterAll(async () => {
    // A test that failed between a kill and a restart leaves no agent to destroy the guests.
    if (agent && (agent.exitCode !== null || agent.signalCode !== null)) await restartAgent().catch(() => undefined);
    for (const id of [...serverIds]) await openstack(['server', 'delete', '--wait', id], user, BOOT_MS).catch(() => undefined);
    for (const id of imageIds) await openstack(['image', 'delete', id], user).catch(() => undefined);
    await openstack(['compute', 'service', 'set', '--disable', '--disable-reason', 'real-guests e2e finished', hostName, 'nova-compute']).catch(() => undefined);
    if (agent) await stopAgent(agent);
    if (other) {
      await openstack(['compute', 'service', 'set', '--disable', '--disable-reason', 'real-guests e2e finished', otherHost, 'nova-compute']).catch(() => undefined);
      await stopAgent(other);
    }
    const leftovers = await killQemusOf(everyServerId);
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(baseDir, { recursive: true, force: true });
    // Guests outlive agents: none of this suite's may outlive the suite.
    expect(leftovers, 'QEMU processes left after the servers were deleted').toEqual([]);
  }, 300_000);

  it('boots the test guest to ACTIVE in its own zone, in one QEMU process', async () => {
    const server = await createServer(serverName, imageName);
    mainId = String(server.id);
    expect(server.status).toBe('ACTIVE');
    const shown = await openstackJson(['server', 'show', mainId]);
    expect(shown['OS-EXT-SRV-ATTR:host']).toBe(hostName);
    expect(shown['OS-EXT-AZ:availability_zone']).toBe(zone);
    expect(await qemuPidsOf(mainId)).toHaveLength(1);
    expect(existsSync(join(instanceDir(mainId), 'disk.qcow2'))).toBe(true);
  }, BOOT_MS);

  it('shows the boot marker and the hostname on the console log', async () => {
    await waitForBoots(mainId, 1);
    const log = await openstack(['console', 'log', 'show', mainId], user);
    expect(countMarker(log, BOOTED)).toBe(1);
    expect(log).toContain(`NOVALESS-INSTANCE-UUID ${mainId}`);
    expect(log).toContain(`NOVALESS-HOSTNAME ${hostnameOf(serverName)}`);
  }, BOOT_MS);

  it('stops (SHUTOFF, no QEMU) and starts again (ACTIVE, a second boot)', async () => {
    await openstack(['server', 'stop', mainId], user);
    const stopped = await waitForStatus(mainId, 'SHUTOFF');
    expect(stopped['OS-EXT-STS:power_state']).toBe(4);
    expect(await qemuPidsOf(mainId)).toEqual([]);

    await openstack(['server', 'start', mainId], user);
    await waitForStatus(mainId, 'ACTIVE');
    expect(await qemuPidsOf(mainId)).toHaveLength(1);
    const log = await waitForBoots(mainId, 2);
    expect(countMarker(log, BOOTED)).toBe(2);
  }, 2 * BOOT_MS);

  it('reboots soft and hard, each a new boot', async () => {
    await openstack(['server', 'reboot', '--soft', '--wait', mainId], user, BOOT_MS);
    expect((await serverOf(mainId))!.status).toBe('ACTIVE');
    await waitForBoots(mainId, 3);
    await openstack(['server', 'reboot', '--hard', '--wait', mainId], user, BOOT_MS);
    expect((await serverOf(mainId))!.status).toBe('ACTIVE');
    const log = await waitForBoots(mainId, 4);
    expect(countMarker(log, BOOTED)).toBe(4);
    expect(await qemuPidsOf(mainId)).toHaveLength(1);
  }, 2 * BOOT_MS);

  it('pauses and unpauses, suspends and resumes, without rebooting the guest', async () => {
    await openstack(['server', 'pause', mainId], user);
    expect((await waitForStatus(mainId, 'PAUSED'))['OS-EXT-STS:power_state']).toBe(3);
    await openstack(['server', 'unpause', mainId], user);
    expect((await waitForStatus(mainId, 'ACTIVE'))['OS-EXT-STS:power_state']).toBe(1);

    await openstack(['server', 'suspend', mainId], user);
    expect((await waitForStatus(mainId, 'SUSPENDED'))['OS-EXT-STS:power_state']).toBe(7);
    expect(await qemuPidsOf(mainId)).toEqual([]);
    expect(existsSync(join(instanceDir(mainId), 'suspended.state'))).toBe(true);
    await openstack(['server', 'resume', mainId], user);
    expect((await waitForStatus(mainId, 'ACTIVE'))['OS-EXT-STS:power_state']).toBe(1);
    expect(await qemuPidsOf(mainId)).toHaveLength(1);
    // Restored from its saved state, not booted: still four boots on the console.
    await sleep(4000);
    expect(countMarker(await consoleOf(mainId), BOOTED)).toBe(4);
  }, 2 * BOOT_MS);

  it('snapshots the server to an active image that boots', async () => {
    const snap = await openstackJson(['server', 'image', 'create', '--wait', '--name', snapName, mainId], user);
    imageIds.add(String(snap.id));
    expect((await openstackJson(['image', 'show', String(snap.id)], user)).status).toBe('active');
    expect((await serverOf(mainId))!.status).toBe('ACTIVE');

    const fromSnapName = `qemu-e2e-from-snap-${suffix}`;
    const fromSnap = await createServer(fromSnapName, snapName);
    const id = String(fromSnap.id);
    expect(fromSnap.status).toBe('ACTIVE');
    const log = await waitForBoots(id, 1);
    expect(log).toContain(`NOVALESS-HOSTNAME ${hostnameOf(fromSnapName)}`);
    await deleteServer(id);
    expect(await qemuPidsOf(id)).toEqual([]);
  }, 3 * BOOT_MS);

  it('rebuilds the server from the image: ACTIVE, a new boot', async () => {
    await openstack(['server', 'rebuild', '--image', imageName, '--wait', mainId], user, BOOT_MS);
    expect((await serverOf(mainId))!.status).toBe('ACTIVE');
    const log = await waitForBoots(mainId, 5);
    expect(countMarker(log, BOOTED)).toBe(5);
    expect(await qemuPidsOf(mainId)).toHaveLength(1);
  }, 2 * BOOT_MS);

  it('rescues the server (RESCUE: a boot from the rescue disk, its root disk second) and unrescues it (ACTIVE: a boot from its root disk)', async () => {
    const drivesOf = async () => {
      const [pid] = await qemuPidsOf(mainId);
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.startsWith('file=')).map((a) => a.split(',')[0].slice(5));
    };
    // Counted in the host's console.log: after six boots, the first have left the 100 KiB tail the API returns.
    const consoleFile = join(instanceDir(mainId), 'console.log');
    const bootsOnHost = () => countMarker(readFileSync(consoleFile, 'utf8'), READY);
    const waitForBootOnHost = (count: number) => waitFor(`boot ${count} of ${mainId} in ${consoleFile}`, async () => bootsOnHost() >= count, BOOT_MS, 1000);
    const boots = bootsOnHost();
    const rootDisk = join(instanceDir(mainId), 'disk.qcow2');
    await openstack(['server', 'rescue', '--image', imageName, mainId], user);
    expect((await waitForStatus(mainId, 'RESCUE'))['OS-EXT-STS:power_state']).toBe(1);
    expect(await drivesOf()).toEqual([join(instanceDir(mainId), 'disk.rescue.qcow2'), rootDisk, join(instanceDir(mainId), 'disk.config.iso')]);
    await waitForBootOnHost(boots + 1);
    // Written to the server's disk as the rescue guest writes to its second disk (QEMU's block layer).
    const qmp = await QmpClient.connect(join(instanceDir(mainId), 'qmp.sock'));
    try {
      await qmp.execute('human-monitor-command', { 'command-line': 'qemu-io root-disk "write -P 0xa5 60M 64k"' });
    } finally {
      qmp.close();
    }
    await openstack(['server', 'unrescue', mainId], user);
    await waitForStatus(mainId, 'ACTIVE');
    expect(await drivesOf()).toEqual([rootDisk, join(instanceDir(mainId), 'disk.config.iso')]);
    expect(existsSync(join(instanceDir(mainId), 'disk.rescue.qcow2'))).toBe(false);
    await waitForBootOnHost(boots + 2);
    const { stdout } = await promisify(execFile)('qemu-io', ['-U', '-r', '-f', 'qcow2', '-c', 'read -P 0xa5 60M 64k', rootDisk]);
    expect(stdout).toContain('read 65536/65536 bytes');
    expect(stdout).not.toContain('Pattern verification failed');
  }, 3 * BOOT_MS);

  describe('shelve and unshelve on another host', () => {
    /** 64 KiB of 0x5a near the end of the 64 MiB disk (free space of its FAT partition). */
    const MARK = 'write -P 0x5a 62M 64k';
    const CHECK = 'read -P 0x5a 62M 64k';
    const otherDir = (id: string) => join(agentStateDir(otherOptions!), 'instances', id);

    it('keeps what was written to the disk: shelve offloads it (host freed), unshelve with a host (2.91) spawns it there from the image', async () => {
      otherOptions = { ...agentOptions, host: otherHost, network: undefined };
      other = startQemuAgent(otherOptions);
      // Written through the running guest's virtio disk (QEMU's own block layer), as the guest writes.
      const qmp = await QmpClient.connect(join(instanceDir(mainId), 'qmp.sock'));
      try {
        await qmp.execute('human-monitor-command', { 'command-line': `qemu-io virtio0 "${MARK}"` });
      } finally {
        qmp.close();
      }

      await openstack(['server', 'shelve', mainId], user);
      const offloaded = await waitForStatus(mainId, 'SHELVED_OFFLOADED');
      expect(offloaded['OS-EXT-SRV-ATTR:host']).toBeNull();
      expect(await qemuPidsOf(mainId)).toEqual([]);
      expect(existsSync(instanceDir(mainId))).toBe(false);
      expect(await hypervisorUsage()).toEqual({ vcpus_used: 0, memory_mb_used: 0, running_vms: 0 });

      // Raw API calls from here on: each CLI start costs seconds.
      const userToken = await issueToken(user);
      await waitFor(`host ${otherHost} to be up`, async () => {
        const res = await api('GET', `/compute/v2.1/os-services?host=${otherHost}`, { token: adminToken });
        return (res.body.services as Row[] | undefined)?.some((r) => r.state === 'up');
      }, 90_000, 500);
      const res = await api('POST', `/compute/v2.1/servers/${mainId}/action`, {
        token: adminToken,
        headers: { 'OpenStack-API-Version': 'compute 2.91' },
        body: { unshelve: { host: otherHost } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const back = await waitForStatus(mainId, 'ACTIVE');
      expect(back['OS-EXT-SRV-ATTR:host']).toBe(otherHost);
      expect(await qemuPidsOf(mainId)).toHaveLength(1);
      expect((await api('PUT', '/compute/v2.1/os-services/disable', { token: adminToken, body: { host: otherHost, binary: 'nova-compute' } })).status).toBe(200);
      const { stdout } = await promisify(execFile)('qemu-io', ['-U', '-r', '-f', 'qcow2', '-c', CHECK, join(otherDir(mainId), 'disk.qcow2')]);
      expect(stdout).toContain('read 65536/65536 bytes');
      expect(stdout).not.toContain('Pattern verification failed');
      await waitFor('the shelved image deleted', async () => (await api('GET', `/image/v2/images?name=${serverName}-shelved`, { token: userToken })).body.images.length === 0, 30_000, 500);
    }, 4 * BOOT_MS);
  });

  it('deletes the server: QEMU gone, instance dir removed, hypervisor usage back to zero', async () => {
    await deleteServer(mainId);
    expect(await qemuPidsOf(mainId)).toEqual([]);
    expect(existsSync(instanceDir(mainId))).toBe(false);
    if (otherOptions) expect(existsSync(join(agentStateDir(otherOptions), 'instances', mainId))).toBe(false);
    expect(await hypervisorUsage()).toEqual({ vcpus_used: 0, memory_mb_used: 0, running_vms: 0 });
  }, BOOT_MS);

  describe('faults', () => {
    let guestId: string;

    it('kill -9 of the agent while a guest runs: the guest runs on untouched, actions still work', async () => {
      guestId = String((await createServer(`qemu-e2e-fault-${suffix}`, imageName)).id);
      await waitForBoots(guestId, 1);
      const [pid] = await qemuPidsOf(guestId);
      expect(pid).toBeGreaterThan(0);

      await killAgent(agent!);
      await sleep(1000);
      expect(await qemuPidsOf(guestId)).toEqual([pid]);
      await restartAgent();

      await sleep(5000); // a few heartbeats and console publications of the restarted agent
      expect(await qemuPidsOf(guestId)).toEqual([pid]);
      expect((await serverOf(guestId))!.status).toBe('ACTIVE');
      expect(countMarker(await consoleOf(guestId), BOOTED)).toBe(1);

      // Up to one command visibility timeout (30 s, host-agent/agent.ts) more: a command sent in
      // the ~20 s after the kill may go to the long poll the dead agent left open.
      await openstack(['server', 'pause', guestId], user);
      await waitForStatus(guestId, 'PAUSED', 60_000);
      await openstack(['server', 'unpause', guestId], user);
      await waitForStatus(guestId, 'ACTIVE', 60_000);
      expect(await qemuPidsOf(guestId)).toEqual([pid]);
      expect(countMarker(await consoleOf(guestId), BOOTED)).toBe(1);
    }, 3 * BOOT_MS);

    it('a guest whose QEMU is killed is reported stopped by the power-state sync', async () => {
      const [pid] = await qemuPidsOf(guestId);
      process.kill(pid, 'SIGKILL');
      const stopped = await waitForStatus(guestId, 'SHUTOFF', 60_000);
      expect(stopped['OS-EXT-STS:power_state']).toBe(4);
      const shown = await openstackJson(['server', 'show', guestId], user);
      expect(shown.status).toBe('SHUTOFF');
      expect(String(shown['OS-EXT-STS:power_state'])).toMatch(/^(Shutdown|4)$/);
    }, BOOT_MS);

    it('kill -9 of the agent mid-spawn: the instance ends ACTIVE or ERROR, never stuck in BUILD', async () => {
      const userToken = await issueToken(user);
      const created = await api('POST', '/compute/v2.1/servers', {
        token: userToken,
        body: { server: { name: `qemu-e2e-midspawn-${suffix}`, imageRef: imageId, flavorRef: '1', availability_zone: zone } },
      });
      expect(created.status).toBe(202);
      const id = String(created.body.server.id);
      track(id);
      const stateFile = join(agentStateDir(agentOptions), 'state.json');
      // The agent records a build before its driver acts: that is the middle of the spawn. (The
      // spawn command itself may first go to the long poll the agent killed above left open, and
      // come back after the 30 s command visibility timeout.)
      const phaseSeen = await waitFor('the agent to start building', async () => {
        const guests = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { guests: Record<string, { phase: string }> }).guests : {};
        return guests[id]?.phase;
      }, 75_000, 20);
      await killAgent(agent!);
      expect(phaseSeen).toBe('building');
      await restartAgent();

      const settled = await waitFor(`${id} to leave BUILD`, async () => {
        const s = await serverOf(id);
        return s && (s.status === 'ACTIVE' || s.status === 'ERROR') && s['OS-EXT-STS:task_state'] === null ? s : undefined;
      }, 90_000, 500);
      const pids = await qemuPidsOf(id);
      if (settled.status === 'ACTIVE') {
        expect(pids).toHaveLength(1);
        await waitForBoots(id, 1);
      } else {
        expect(pids).toEqual([]);
      }
      await deleteServer(id);
      expect(await qemuPidsOf(id)).toEqual([]);
      expect(existsSync(instanceDir(id))).toBe(false);
    }, 3 * BOOT_MS);

    it('deletes the stopped guest and leaves the host empty', async () => {
      await deleteServer(guestId);
      expect(existsSync(instanceDir(guestId))).toBe(false);
      expect(await hypervisorUsage()).toEqual({ vcpus_used: 0, memory_mb_used: 0, running_vms: 0 });
    }, BOOT_MS);
  });
});
