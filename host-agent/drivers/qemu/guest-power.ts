import type { Logger } from '@aws-lambda-powertools/logger';
import { rm } from 'node:fs/promises';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { InvalidGuestState, type RebootType } from '../driver.js';
import type { GuestLauncher } from './guest-launcher.js';
import type { GuestRuntime } from './guest-runtime.js';
import { saveGuestState, waitRestored } from './managed-save.js';
import { waitForExit } from './qemu-process.js';

export interface GuestPowerOptions {
  log: Logger;
  /** How long a soft reboot waits for the guest to shut down before it resets it (Nova's wait_soft_reboot_seconds). */
  softRebootTimeoutSec?: number;
  /** How long QEMU gets to exit after `quit` before SIGKILL. */
  quitTimeoutMs?: number;
}

/** The QEMU driver's reboot, power off/on, pause/unpause and suspend/resume (a managed save). */
export class GuestPower {
  constructor(
    private readonly g: GuestRuntime,
    private readonly launcher: GuestLauncher,
    private readonly o: GuestPowerOptions,
  ) {}

  async reboot(instanceId: string, type: RebootType): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      const paths = await this.g.existing(instanceId);
      const state = await this.g.powerState(instanceId, true);
      if (type === 'SOFT') {
        if (state !== PowerState.RUNNING) throw new InvalidGuestState(instanceId, 'soft reboot', state);
        const pid = (await this.g.pidOf(instanceId))!;
        // As Nova's libvirt driver: ask the guest to shut down, start it again; reset it if it does not.
        await this.g.qmp(instanceId, (qmp) => qmp.execute('system_powerdown'));
        if (await waitForExit(pid, instanceId, (this.o.softRebootTimeoutSec ?? 120) * 1000)) {
          await this.g.start(await this.g.specOf(paths), paths);
          return;
        }
        this.o.log.warn('guest did not shut down for a soft reboot, resetting it', { instance_id: instanceId });
      }
      if (state === PowerState.RUNNING || state === PowerState.PAUSED || state === PowerState.CRASHED) {
        await this.g.qmp(instanceId, async (qmp) => {
          await qmp.execute('system_reset');
          if (state !== PowerState.RUNNING) await qmp.execute('cont');
        });
        this.g.lastKnown.set(instanceId, PowerState.RUNNING);
        return;
      }
      // A hard reboot brings up a stopped guest, and discards a suspended guest's saved state.
      await this.g.stopProcess(instanceId);
      await rm(paths.suspended, { force: true });
      await this.g.start(await this.g.specOf(paths), paths);
    });
  }

  async powerOff(instanceId: string, timeoutSec: number): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      await this.g.existing(instanceId);
      const pid = await this.g.pidOf(instanceId);
      if (!pid) return;
      const state = await this.g.powerState(instanceId, true);
      if (timeoutSec > 0 && state === PowerState.RUNNING) {
        await this.g.qmp(instanceId, (qmp) => qmp.execute('system_powerdown'));
        if (await waitForExit(pid, instanceId, timeoutSec * 1000)) {
          this.g.lastKnown.set(instanceId, PowerState.SHUTDOWN);
          return;
        }
        this.o.log.warn(`guest did not shut down within ${timeoutSec} s, forcing it off`, { instance_id: instanceId });
      }
      await this.g.stopProcess(instanceId);
    });
  }

  async powerOn(instanceId: string): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      const paths = await this.g.existing(instanceId);
      const state = await this.g.powerState(instanceId, true);
      if (state === PowerState.RUNNING) return;
      if (state !== PowerState.SHUTDOWN && state !== PowerState.CRASHED && state !== PowerState.NOSTATE) throw new InvalidGuestState(instanceId, 'power on', state);
      await this.g.stopProcess(instanceId); // a crashed guest's QEMU may still be there
      await this.g.start(await this.g.specOf(paths), paths);
    });
  }

  async pause(instanceId: string): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      await this.g.requireState(instanceId, 'pause', [PowerState.RUNNING]);
      await this.g.qmp(instanceId, (qmp) => qmp.execute('stop'));
      this.g.lastKnown.set(instanceId, PowerState.PAUSED);
    });
  }

  async unpause(instanceId: string): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      await this.g.requireState(instanceId, 'unpause', [PowerState.PAUSED]);
      await this.g.qmp(instanceId, (qmp) => qmp.execute('cont'));
      this.g.lastKnown.set(instanceId, PowerState.RUNNING);
    });
  }

  /**
   * Nova's suspend (libvirt managed save): the guest's RAM and device state go to a file in its
   * directory by a QMP migration, then QEMU exits. The file is the SUSPENDED state, so it
   * survives agent and host restarts.
   */
  async suspend(instanceId: string): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      const paths = await this.g.existing(instanceId);
      await this.g.requireState(instanceId, 'suspend', [PowerState.RUNNING, PowerState.PAUSED]);
      const pid = (await this.g.pidOf(instanceId))!;
      await rm(paths.suspended, { force: true });
      await this.g.qmp(instanceId, (qmp) => saveGuestState(qmp, paths.suspended));
      if (!(await waitForExit(pid, instanceId, this.o.quitTimeoutMs ?? 10_000))) await this.g.stopProcess(instanceId);
      this.g.lastKnown.set(instanceId, PowerState.SUSPENDED);
    });
  }

  async resume(instanceId: string): Promise<void> {
    await this.g.exclusive(instanceId, async () => {
      const paths = await this.g.existing(instanceId);
      await this.g.requireState(instanceId, 'resume', [PowerState.SUSPENDED]);
      await this.launcher.launch(await this.g.specOf(paths), paths, true);
      await waitRestored(
        async () => (await this.g.qmp(instanceId, (qmp) => qmp.execute<{ status: string }>('query-status'))).status,
        () => this.g.qmp(instanceId, (qmp) => qmp.execute('cont')),
      );
      await rm(paths.suspended, { force: true });
      this.g.lastKnown.set(instanceId, PowerState.RUNNING);
    });
  }
}
