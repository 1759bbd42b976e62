import type { Logger } from '@aws-lambda-powertools/logger';
import { readFile, rm, stat } from 'node:fs/promises';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { GuestSpecSchema, type GuestSpec } from '../../../shared/messages/host.js';
import { KeyedLock } from '../../concurrency.js';
import { GuestNotFound, InvalidGuestState } from '../driver.js';
import type { GuestLauncher } from './guest-launcher.js';
import { instancePaths, type InstancePaths } from './instance-dir.js';
import type { VirtType } from './kvm-detect.js';
import { isGuestProcess, readPid, scanGuestProcesses, waitForExit } from './qemu-process.js';
import { QmpClient } from './qmp-client.js';
import { inRescue, rescueDiskOf } from './rescue.js';
import { powerStateOfRunState } from './run-states.js';

export interface GuestRuntimeOptions {
  instancesDir: string;
  launcher: GuestLauncher;
  virtType: VirtType;
  log: Logger;
  /** How long QEMU gets to exit after `quit` before SIGKILL. */
  quitTimeoutMs?: number;
}

/**
 * What every QEMU driver operation stands on: a guest's files and spec, its QEMU process and QMP
 * socket, its power state, and the per-guest lock that runs operations one at a time.
 */
export class GuestRuntime {
  /** Operations that change a guest run one at a time per guest. */
  private readonly ops = new KeyedLock();
  readonly busy = new Set<string>();
  /** The last power state seen, answered while an operation holds the guest's QMP socket. */
  readonly lastKnown = new Map<string, PowerState>();

  constructor(private readonly o: GuestRuntimeOptions) {}

  get instancesDir(): string {
    return this.o.instancesDir;
  }

  paths(instanceId: string): InstancePaths {
    return instancePaths(this.o.instancesDir, instanceId);
  }

  async existing(instanceId: string): Promise<InstancePaths> {
    const paths = this.paths(instanceId);
    try {
      await stat(paths.spec);
    } catch {
      throw new GuestNotFound(instanceId);
    }
    return paths;
  }

  async specOf(paths: InstancePaths): Promise<GuestSpec> {
    return GuestSpecSchema.parse(JSON.parse(await readFile(paths.spec, 'utf8')));
  }

  async exclusive<T>(instanceId: string, task: () => Promise<T>): Promise<T> {
    return this.ops.run(instanceId, async () => {
      this.busy.add(instanceId);
      try {
        return await task();
      } finally {
        this.busy.delete(instanceId);
      }
    });
  }

  /** The pid of the guest's QEMU if it runs: from its pidfile, or (`scan`) from the process list. */
  async pidOf(instanceId: string, scan = false): Promise<number | undefined> {
    const pid = await readPid(this.paths(instanceId).pidfile);
    if (pid && (await isGuestProcess(pid, instanceId))) return pid;
    return scan ? (await scanGuestProcesses(this.o.instancesDir)).get(instanceId) : undefined;
  }

  /**
   * The guest's power state: from QMP while its QEMU runs; SUSPENDED when its saved state is
   * there; SHUTDOWN otherwise. While an operation holds the guest (and its QMP socket, which takes
   * one client at a time), others get the last state seen, unless `own` (the operation itself).
   */
  async powerState(instanceId: string, own = false): Promise<PowerState> {
    const paths = await this.existing(instanceId);
    if (!own && this.busy.has(instanceId)) return this.lastKnown.get(instanceId) ?? PowerState.NOSTATE;
    let state: PowerState;
    if (await this.pidOf(instanceId)) {
      try {
        const { status } = await this.qmp(instanceId, (qmp) => qmp.execute<{ status: string }>('query-status'), 2000);
        state = powerStateOfRunState(status);
      } catch {
        // Another client (`host-agent status`) may hold the socket: the process at least runs.
        state = this.lastKnown.get(instanceId) ?? PowerState.RUNNING;
      }
    } else {
      state = (await stat(paths.suspended).then(() => true, () => false)) ? PowerState.SUSPENDED : PowerState.SHUTDOWN;
    }
    this.lastKnown.set(instanceId, state);
    return state;
  }

  async requireState(instanceId: string, operation: string, allowed: PowerState[]): Promise<void> {
    const state = await this.powerState(instanceId, true);
    if (!allowed.includes(state)) throw new InvalidGuestState(instanceId, operation, state);
  }

  async qmp<T>(instanceId: string, use: (client: QmpClient) => Promise<T>, timeoutMs = 10_000): Promise<T> {
    const client = await QmpClient.connect(this.paths(instanceId).qmp, { timeoutMs, commandTimeoutMs: 60_000 });
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }

  /** The guest stopped, its disks changed, started again (a suspended state is discarded, as by a hard reboot). */
  async restartWith(instanceId: string, change: (paths: InstancePaths) => Promise<unknown>): Promise<void> {
    await this.exclusive(instanceId, async () => {
      const paths = await this.existing(instanceId);
      await this.stopProcess(instanceId);
      await rm(paths.suspended, { force: true });
      await change(paths);
      await this.start(await this.specOf(paths), paths);
    });
  }

  /** Starts the guest's QEMU (from its rescue disk while it is in rescue) and waits until the guest runs. */
  async start(spec: GuestSpec, paths: InstancePaths): Promise<PowerState> {
    const started = Date.now();
    const pid = await this.o.launcher.launch(spec, paths, false, (await inRescue(paths)) ? rescueDiskOf(paths) : undefined);
    const state = await this.powerState(spec.instance_id, true);
    this.o.log.info('started guest QEMU', { instance_id: spec.instance_id, pid, virt_type: this.o.virtType, start_ms: Date.now() - started });
    return state;
  }

  /** Ends the guest's QEMU: QMP quit, SIGKILL if it is still there after the timeout. */
  async stopProcess(instanceId: string): Promise<void> {
    const pid = await this.pidOf(instanceId, true);
    if (!pid) return;
    try {
      await this.qmp(instanceId, (qmp) => qmp.execute('quit'), 2000);
    } catch (error) {
      this.o.log.warn('QMP quit failed, killing QEMU', { instance_id: instanceId, error: error as Error });
    }
    if (!(await waitForExit(pid, instanceId, this.o.quitTimeoutMs ?? 10_000))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // it exited between the check and the kill
      }
      if (!(await waitForExit(pid, instanceId, 10_000))) throw new Error(`QEMU ${pid} of guest ${instanceId} survived SIGKILL`);
    }
    this.lastKnown.set(instanceId, PowerState.SHUTDOWN);
  }

}
