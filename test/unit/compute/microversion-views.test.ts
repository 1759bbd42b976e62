import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenLimits, limitsView } from '../../../functions/api/compute/limits.js';
import { Microversion } from '../../../functions/api/compute/microversion.js';
import { InstanceActionName, TASKLESS_ACTIONS, stateRefusal, VmState } from '../../../shared/domain/instance-states.js';
import { newAction, newestTaskAction, projectOfDeleted } from '../../../shared/store/instance-actions.js';

const SAMPLES = join(import.meta.dirname, '../../../../shared/nova-api-samples');
const sampleKeys = (path: string, pick: (o: any) => Record<string, unknown>) => Object.keys(pick(JSON.parse(readFileSync(join(SAMPLES, path), 'utf8')))).sort();

describe('views that change with the microversion', () => {
  it('limits: the network limits and their usage are there before 2.36 and gone from it, as in the samples', () => {
    const usage = { instances: 1, cores: 1, ram: 512 };
    expect(Object.keys(limitsView(usage).limits.absolute).sort()).toEqual(sampleKeys('limits/limit-get-resp.json', (o) => o.limits.absolute));
    for (const version of ['2.36', '2.39', '2.57']) {
      const absolute = limitsView(usage, hiddenLimits(Microversion.parse(version))).limits.absolute;
      expect(Object.keys(absolute).sort(), version).toEqual(sampleKeys(`limits/v${version}/limit-get-resp.json`, (o) => o.limits.absolute));
      expect(absolute.totalInstancesUsed).toBe(1);
    }
  });
});

describe('trigger_crash_dump and the actions that run no task', () => {
  it('is allowed in the vm_states of Nova ALLOW_TRIGGER_CRASH_DUMP, with no task running', () => {
    for (const vm of [VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED, VmState.RESIZED, VmState.ERROR]) {
      expect(stateRefusal('triggerCrashDump', { vm_state: vm, task_state: null })).toBeUndefined();
    }
    for (const vm of [VmState.STOPPED, VmState.SUSPENDED, VmState.BUILDING, VmState.SHELVED]) {
      expect(stateRefusal('triggerCrashDump', { vm_state: vm, task_state: null })).toEqual({ attr: 'vm_state', state: vm });
    }
    expect(stateRefusal('triggerCrashDump', { vm_state: VmState.ACTIVE, task_state: 'rebooting' })).toEqual({ attr: 'task_state', state: 'rebooting' });
  });

  it('a taskless action never stands for the task an instance runs', () => {
    const action = (name: InstanceActionName, at: string) =>
      newAction({ instanceId: 'i', action: name, requestId: `req-${name}`, userId: 'u', projectId: 'p' }, at);
    const pause = action('pause', '2026-06-01T12:00:00.000Z');
    const newerTaskless = [...TASKLESS_ACTIONS].map((name, i) => action(name, `2026-06-01T12:00:0${i + 1}.000Z`));
    expect(newestTaskAction([...newerTaskless.reverse(), pause])).toBe(pause);
    // Lock has no event, create has one and runs a task.
    expect(newestTaskAction([action('lock', '2026-06-01T12:00:09.000Z'), action('create', '2026-06-01T11:00:00.000Z')])?.action).toBe('create');
    expect(action('trigger_crash_dump', '2026-06-01T12:00:00.000Z').events).toHaveProperty('compute_trigger_crash_dump');
  });

  it('a deleted server belonged to the project of its create action (an admin may have done the others)', () => {
    const create = newAction({ instanceId: 'i', action: 'create', requestId: 'r1', userId: 'u', projectId: 'owner' });
    const stop = newAction({ instanceId: 'i', action: 'stop', requestId: 'r2', userId: 'admin', projectId: 'admin' });
    expect(projectOfDeleted([stop, create])).toBe('owner');
    expect(projectOfDeleted([stop])).toBeUndefined();
  });
});
