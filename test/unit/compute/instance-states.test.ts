import { describe, expect, it } from 'vitest';
import { allowedStates, stateRefusal, statusOf, TaskState, VmState, type StateRule } from '../../../shared/domain/instance-states.js';
import { powerSyncChanges } from '../../../functions/conductor/reports/power-state-sync.js';
import { lastLines } from '../../../functions/api/compute/server-actions/console-output.js';
import { snapshotPartPlan } from '../../../functions/api/compute/server-actions/create-image.js';
import { PowerState } from '../../../shared/domain/instance-states.js';
import { MIN_PART_SIZE } from '../../../shared/storage/presigned-multipart.js';

const at = (vm_state: VmState, task_state: TaskState | null = null) => ({ vm_state, task_state });

describe('allowedStates (Nova check_instance_state)', () => {
  const allows = (rule: StateRule, vm: VmState, task: TaskState | null = null) => stateRefusal(rule, at(vm, task)) === undefined;

  it('stop from active or error, start from stopped only, with no task running', () => {
    expect(allows('stop', VmState.ACTIVE)).toBe(true);
    expect(allows('stop', VmState.ERROR)).toBe(true);
    expect(stateRefusal('stop', at(VmState.STOPPED))).toEqual({ attr: 'vm_state', state: 'stopped' });
    expect(stateRefusal('stop', at(VmState.ACTIVE, TaskState.REBOOTING))).toEqual({ attr: 'task_state', state: 'rebooting' });
    expect(allows('start', VmState.STOPPED)).toBe(true);
    expect(allows('start', VmState.ACTIVE)).toBe(false);
  });

  it('soft reboot only an idle active server; hard reboot also stopped, paused, suspended, error and over pending tasks', () => {
    expect(allows('softReboot', VmState.ACTIVE)).toBe(true);
    expect(allows('softReboot', VmState.STOPPED)).toBe(false);
    expect(allows('softReboot', VmState.ACTIVE, TaskState.REBOOTING)).toBe(false);
    for (const vm of [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR]) expect(allows('hardReboot', vm)).toBe(true);
    expect(allows('hardReboot', VmState.BUILDING)).toBe(false);
    for (const task of [TaskState.REBOOTING, TaskState.REBOOTING_HARD, TaskState.PAUSING, TaskState.SUSPENDING, TaskState.RESUMING, TaskState.UNPAUSING]) {
      expect(allows('hardReboot', VmState.ACTIVE, task)).toBe(true);
    }
    expect(allows('hardReboot', VmState.ACTIVE, TaskState.POWERING_OFF)).toBe(false);
    expect(allows('hardReboot', VmState.ACTIVE, TaskState.DELETING)).toBe(false);
  });

  it('pause/unpause, suspend/resume pair their states', () => {
    expect(allows('pause', VmState.ACTIVE)).toBe(true);
    expect(allows('pause', VmState.PAUSED)).toBe(false);
    expect(allows('unpause', VmState.PAUSED)).toBe(true);
    expect(allows('unpause', VmState.ACTIVE)).toBe(false);
    expect(allows('suspend', VmState.ACTIVE)).toBe(true);
    expect(allows('suspend', VmState.PAUSED)).toBe(false);
    expect(allows('resume', VmState.SUSPENDED)).toBe(true);
    expect(allows('resume', VmState.STOPPED)).toBe(false);
  });

  it('rebuild from active, stopped or error; snapshots from any running-ish state; none during a task', () => {
    for (const vm of [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR]) expect(allows('rebuild', vm)).toBe(true);
    expect(allows('rebuild', VmState.PAUSED)).toBe(false);
    for (const vm of [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED]) expect(allows('createImage', vm)).toBe(true);
    expect(allows('createImage', VmState.ERROR)).toBe(false);
    expect(allows('createImage', VmState.ACTIVE, TaskState.IMAGE_SNAPSHOT)).toBe(false);
  });

  it('lock, unlock and console output check no state', () => {
    for (const rule of ['lock', 'unlock', 'consoleOutput'] as const) {
      expect(allowedStates[rule]).toEqual({ vmStates: null, taskStates: null });
      expect(allows(rule, VmState.BUILDING, TaskState.SPAWNING)).toBe(true);
    }
  });

  it('names a missing task as None, like Nova', () => {
    expect(stateRefusal('start', at(VmState.ACTIVE))).toEqual({ attr: 'vm_state', state: 'active' });
    expect(stateRefusal('rebuild', at(VmState.ACTIVE, TaskState.PAUSING))).toEqual({ attr: 'task_state', state: 'pausing' });
  });

  it('the task states of the actions show as Nova statuses', () => {
    expect(statusOf(VmState.ACTIVE, TaskState.POWERING_OFF)).toBe('ACTIVE');
    expect(statusOf(VmState.ACTIVE, TaskState.REBOOTING)).toBe('REBOOT');
    expect(statusOf(VmState.ACTIVE, TaskState.REBOOTING_HARD)).toBe('HARD_REBOOT');
    expect(statusOf(VmState.STOPPED, TaskState.REBUILDING)).toBe('REBUILD');
    expect(statusOf(VmState.STOPPED, null)).toBe('SHUTOFF');
  });
});

describe('power state sync (Nova _sync_instance_power_state)', () => {
  it('an active instance whose guest shut down or crashed becomes stopped', () => {
    expect(powerSyncChanges({ vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING }, PowerState.SHUTDOWN)).toEqual({ power_state: 4, vm_state: 'stopped' });
    expect(powerSyncChanges({ vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING }, PowerState.CRASHED)).toEqual({ power_state: 6, vm_state: 'stopped' });
  });
  it('otherwise only the power state follows the host, and nothing changes when it agrees', () => {
    expect(powerSyncChanges({ vm_state: VmState.STOPPED, power_state: PowerState.SHUTDOWN }, PowerState.RUNNING)).toEqual({ power_state: 1 });
    expect(powerSyncChanges({ vm_state: VmState.ERROR, power_state: PowerState.RUNNING }, PowerState.SHUTDOWN)).toEqual({ power_state: 4 });
    expect(powerSyncChanges({ vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING }, PowerState.RUNNING)).toBeUndefined();
  });
});

describe('console output length', () => {
  const log = 'one\ntwo\nthree\n';
  it('keeps the last N pieces of the log split on newlines (Nova\'s _tail_log), all for none or -1, nothing for 0', () => {
    // The empty piece after the final newline is one of them, as in Nova: tempest counts 3 for length=3.
    expect(lastLines(log, 2)).toBe('three\n');
    expect(lastLines(log, 3)).toBe('two\nthree\n');
    expect(lastLines(log, 3).split('\n')).toHaveLength(3);
    expect(lastLines(log, 10)).toBe(log);
    expect(lastLines(log, undefined)).toBe(log);
    expect(lastLines(log, -1)).toBe(log);
    expect(lastLines(log, 0)).toBe('');
    expect(lastLines('a\nb', 1)).toBe('b');
  });
});

describe('snapshot part plan', () => {
  it('covers the root disk in at most 100 parts of at least 5 MiB', () => {
    const plan = snapshotPartPlan({ flavor: { disk: 20 } as never, image_meta: { virtual_size: null, size: 10 } as never });
    expect(plan.partCount).toBeLessThanOrEqual(100);
    expect(plan.partSize * plan.partCount).toBeGreaterThan(20 * 1024 ** 3);
    const tiny = snapshotPartPlan({ flavor: { disk: 0 } as never, image_meta: { virtual_size: null, size: 0 } as never });
    expect(tiny.partSize).toBe(MIN_PART_SIZE);
  });
});
