import type { Instance } from '../../../shared/domain/instance.js';
import { PowerState, TaskState, VmState } from '../../../shared/domain/instance-states.js';
import type { GuestAction } from '../../../shared/messages/conductor.js';
import type { InstanceChanges } from '../../../shared/store/instances.js';

export interface GuestActionOutcome {
  /** The task states the API put the instance in for this action. */
  tasks: readonly TaskState[];
  /** The vm_state once the host did it (unchanged when absent). */
  done?: (i: Instance, powerState: number) => VmState;
  /** Whether a failure puts the instance in ERROR (Nova does for reboot and rebuild); others only end the task. */
  errorOnFailure?: boolean;
  /** Other changes once the task ends, done or failed. */
  afterTask?: (i: Instance) => InstanceChanges;
}

/** What each action's report does to the instance (nova/compute/manager.py, per action). */
export const GUEST_ACTION_OUTCOMES: Record<GuestAction, GuestActionOutcome> = {
  stop: { tasks: [TaskState.POWERING_OFF], done: () => VmState.STOPPED },
  start: { tasks: [TaskState.POWERING_ON], done: () => VmState.ACTIVE },
  // The instance is SOFT_DELETED (and its quota released) from the API's request on; the task's
  // deadline then becomes the time it is reclaimed, which the sweeper watches.
  soft_delete: { tasks: [TaskState.SOFT_DELETING], afterTask: (i) => ({ task_deadline: i.reclaim_at ?? null }) },
  restore: { tasks: [TaskState.RESTORING], done: () => VmState.ACTIVE },
  reboot: { tasks: [TaskState.REBOOTING, TaskState.REBOOTING_HARD], done: () => VmState.ACTIVE, errorOnFailure: true },
  pause: { tasks: [TaskState.PAUSING], done: () => VmState.PAUSED },
  unpause: { tasks: [TaskState.UNPAUSING], done: () => VmState.ACTIVE },
  suspend: { tasks: [TaskState.SUSPENDING], done: () => VmState.SUSPENDED },
  resume: { tasks: [TaskState.RESUMING], done: () => VmState.ACTIVE },
  // A rebuilt guest that was stopped is stopped again by its host.
  rebuild: {
    tasks: [TaskState.REBUILDING],
    done: (_i, powerState) => (powerState === PowerState.RUNNING ? VmState.ACTIVE : VmState.STOPPED),
    errorOnFailure: true,
  },
  // Nova's rescue_instance and unrescue_instance put the instance in ERROR when the driver fails.
  rescue: { tasks: [TaskState.RESCUING], done: () => VmState.RESCUED, errorOnFailure: true },
  unrescue: { tasks: [TaskState.UNRESCUING], done: () => VmState.ACTIVE, errorOnFailure: true },
  // Done reports go to shelve-done.ts; a failure only ends the task (and discards the image).
  shelve: { tasks: [TaskState.SHELVING, TaskState.SHELVING_IMAGE_PENDING_UPLOAD, TaskState.SHELVING_IMAGE_UPLOADING] },
  unshelve: { tasks: [TaskState.UNSHELVING] },
  createImage: { tasks: [TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_UPLOADING] },
  createBackup: { tasks: [TaskState.IMAGE_BACKUP] },
  // Runs no task: its reports only finish its event (taskless-action.ts).
  trigger_crash_dump: { tasks: [] },
};
