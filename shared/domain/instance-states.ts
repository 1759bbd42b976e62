/**
 * Instance states as Nova has them (nova/compute/vm_states.py, task_states.py, power_state.py),
 * the one table that turns them into the API `status`, and the states each action allows.
 */
export const VmState = {
  ACTIVE: 'active',
  BUILDING: 'building',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  STOPPED: 'stopped',
  RESCUED: 'rescued',
  RESIZED: 'resized',
  SOFT_DELETED: 'soft-delete',
  DELETED: 'deleted',
  ERROR: 'error',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
} as const;
export type VmState = (typeof VmState)[keyof typeof VmState];

export const TaskState = {
  SCHEDULING: 'scheduling',
  BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  NETWORKING: 'networking',
  SPAWNING: 'spawning',
  IMAGE_SNAPSHOT: 'image_snapshot',
  IMAGE_BACKUP: 'image_backup',
  IMAGE_UPLOADING: 'image_uploading',
  REBOOTING: 'rebooting',
  REBOOTING_HARD: 'rebooting_hard',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  REBUILDING: 'rebuilding',
  DELETING: 'deleting',
  SOFT_DELETING: 'soft-deleting',
  RESTORING: 'restoring',
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_MIGRATED: 'resize_migrated',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming',
  MIGRATING: 'migrating',
  REBUILD_SPAWNING: 'rebuild_spawning',
  RESCUING: 'rescuing',
  UNRESCUING: 'unrescuing',
  SHELVING: 'shelving',
  SHELVING_IMAGE_PENDING_UPLOAD: 'shelving_image_pending_upload',
  SHELVING_IMAGE_UPLOADING: 'shelving_image_uploading',
  SHELVING_OFFLOADING: 'shelving_offloading',
  UNSHELVING: 'unshelving',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** Nova's power_state codes, as `OS-EXT-STS:power_state` shows them. */
export const PowerState = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;
export type PowerState = (typeof PowerState)[keyof typeof PowerState];

const RESIZING = { resize_prep: 'RESIZE', resize_migrating: 'RESIZE', resize_migrated: 'RESIZE', resize_finish: 'RESIZE' };

/** nova/api/openstack/common.py _STATE_MAP: vm_state → { task_state | 'default' → status }. */
const STATUS_MAP: Record<VmState, Record<string, string>> = {
  active: {
    default: 'ACTIVE',
    rebooting: 'REBOOT',
    rebooting_hard: 'HARD_REBOOT',
    rebuilding: 'REBUILD',
    rebuild_spawning: 'REBUILD',
    migrating: 'MIGRATING',
    ...RESIZING,
  },
  building: { default: 'BUILD' },
  stopped: { default: 'SHUTOFF', rebuilding: 'REBUILD', rebuild_spawning: 'REBUILD', ...RESIZING },
  resized: { default: 'VERIFY_RESIZE', resize_reverting: 'REVERT_RESIZE' },
  paused: { default: 'PAUSED', migrating: 'MIGRATING' },
  suspended: { default: 'SUSPENDED' },
  rescued: { default: 'RESCUE' },
  error: { default: 'ERROR', rebuilding: 'REBUILD', rebuild_spawning: 'REBUILD' },
  deleted: { default: 'DELETED' },
  'soft-delete': { default: 'SOFT_DELETED' },
  shelved: { default: 'SHELVED' },
  shelved_offloaded: { default: 'SHELVED_OFFLOADED' },
};

export function statusOf(vmState: VmState, taskState: TaskState | null | undefined): string {
  const row = STATUS_MAP[vmState];
  if (!row) return 'UNKNOWN';
  return (taskState && row[taskState]) || row.default;
}

/** The vm_states a status filter (`?status=ACTIVE`) selects, as Nova's status_to_vm_states. */
export function vmStatesForStatus(status: string): VmState[] {
  const wanted = status.toUpperCase();
  return (Object.keys(STATUS_MAP) as VmState[]).filter((vm) => Object.values(STATUS_MAP[vm]).includes(wanted));
}

/** The vm_states and task_states an action may start from; null means any. */
export interface AllowedStates {
  vmStates: readonly VmState[] | null;
  /** `[null]` means no task may be running. */
  taskStates: readonly (TaskState | null)[] | null;
}

const NO_TASK = [null] as const;
/** nova/compute/vm_states.py ALLOW_SOFT_REBOOT, ALLOW_HARD_REBOOT. */
const ALLOW_SOFT_REBOOT = [VmState.ACTIVE] as const;
const ALLOW_HARD_REBOOT = [...ALLOW_SOFT_REBOOT, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR] as const;
/** nova/compute/task_states.py ALLOW_REBOOT (the task states this cloud has): a hard reboot may interrupt these. */
const ALLOW_REBOOT = [
  null,
  TaskState.REBOOTING,
  TaskState.REBOOTING_HARD,
  TaskState.RESUMING,
  TaskState.UNPAUSING,
  TaskState.PAUSING,
  TaskState.SUSPENDING,
] as const;

/**
 * The states each server action allows: Nova's @check_instance_state on nova/compute/api.py.
 * Lock, unlock and console output check no state (Nova does not either).
 */
export const allowedStates = {
  delete: { vmStates: null, taskStates: null },
  update: { vmStates: null, taskStates: null },
  stop: { vmStates: [VmState.ACTIVE, VmState.ERROR], taskStates: NO_TASK },
  start: { vmStates: [VmState.STOPPED], taskStates: NO_TASK },
  softReboot: { vmStates: ALLOW_SOFT_REBOOT, taskStates: NO_TASK },
  hardReboot: { vmStates: ALLOW_HARD_REBOOT, taskStates: ALLOW_REBOOT },
  pause: { vmStates: [VmState.ACTIVE], taskStates: NO_TASK },
  unpause: { vmStates: [VmState.PAUSED], taskStates: NO_TASK },
  suspend: { vmStates: [VmState.ACTIVE], taskStates: NO_TASK },
  resume: { vmStates: [VmState.SUSPENDED], taskStates: NO_TASK },
  rebuild: { vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR], taskStates: NO_TASK },
  createImage: { vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED], taskStates: NO_TASK },
  createBackup: { vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED], taskStates: NO_TASK },
  lock: { vmStates: null, taskStates: null },
  unlock: { vmStates: null, taskStates: null },
  consoleOutput: { vmStates: null, taskStates: null },
  attachInterface: { vmStates: [VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED], taskStates: NO_TASK },
  detachInterface: { vmStates: [VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED], taskStates: NO_TASK },
  /** vm_states.ALLOW_TRIGGER_CRASH_DUMP. */
  triggerCrashDump: { vmStates: [VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED, VmState.RESIZED, VmState.ERROR], taskStates: NO_TASK },
  restore: { vmStates: [VmState.SOFT_DELETED], taskStates: NO_TASK },
  forceDelete: { vmStates: null, taskStates: NO_TASK },
  /** Also cold migrate, which Nova implements as a resize to the same flavor. */
  resize: { vmStates: [VmState.ACTIVE, VmState.STOPPED], taskStates: NO_TASK },
  confirmResize: { vmStates: [VmState.RESIZED], taskStates: NO_TASK },
  revertResize: { vmStates: [VmState.RESIZED], taskStates: NO_TASK },
  liveMigrate: { vmStates: [VmState.ACTIVE, VmState.PAUSED], taskStates: NO_TASK },
  liveMigrateForceComplete: { vmStates: [VmState.ACTIVE], taskStates: [TaskState.MIGRATING] },
  liveMigrateAbort: { vmStates: null, taskStates: [TaskState.MIGRATING] },
  /** Nova checks no task state for evacuate (task_state=None): the host is gone, so may be the task. */
  evacuate: { vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR], taskStates: null },
  shelve: { vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED], taskStates: NO_TASK },
  shelveOffload: { vmStates: [VmState.SHELVED], taskStates: NO_TASK },
  unshelve: { vmStates: [VmState.SHELVED, VmState.SHELVED_OFFLOADED], taskStates: NO_TASK },
  rescue: { vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR], taskStates: NO_TASK },
  unrescue: { vmStates: [VmState.RESCUED], taskStates: NO_TASK },
} as const satisfies Record<string, AllowedStates>;

export type StateRule = keyof typeof allowedStates;

/** Why an instance's states refuse a rule, as Nova's InstanceInvalidState names it; undefined when they allow it. */
export function stateRefusal(
  rule: StateRule,
  i: { vm_state: VmState; task_state: TaskState | null },
): { attr: 'vm_state' | 'task_state'; state: string } | undefined {
  const { vmStates, taskStates } = allowedStates[rule] as AllowedStates;
  if (vmStates && !vmStates.includes(i.vm_state)) return { attr: 'vm_state', state: i.vm_state };
  if (taskStates && !taskStates.includes(i.task_state)) return { attr: 'task_state', state: String(i.task_state ?? 'None') };
  return undefined;
}

/** The actions recorded per instance (os-instance-actions), as Nova names them. */
export const InstanceActionName = {
  CREATE: 'create',
  DELETE: 'delete',
  /** Not Nova's name (Nova records a soft delete as `delete`): a delete that powers the guest off and keeps it for reclaim_instance_interval. */
  SOFT_DELETE: 'soft_delete',
  RESTORE: 'restore',
  STOP: 'stop',
  START: 'start',
  REBOOT: 'reboot',
  PAUSE: 'pause',
  UNPAUSE: 'unpause',
  SUSPEND: 'suspend',
  RESUME: 'resume',
  REBUILD: 'rebuild',
  CREATE_IMAGE: 'createImage',
  CREATE_BACKUP: 'createBackup',
  LOCK: 'lock',
  UNLOCK: 'unlock',
  ATTACH_INTERFACE: 'attach_interface',
  DETACH_INTERFACE: 'detach_interface',
  TRIGGER_CRASH_DUMP: 'trigger_crash_dump',
  RESIZE: 'resize',
  MIGRATE: 'migrate',
  CONFIRM_RESIZE: 'confirmResize',
  REVERT_RESIZE: 'revertResize',
  LIVE_MIGRATION: 'live-migration',
  LIVE_MIGRATION_FORCE_COMPLETE: 'live_migration_force_complete',
  LIVE_MIGRATION_CANCEL: 'live_migration_cancel',
  EVACUATE: 'evacuate',
  SHELVE: 'shelve',
  SHELVE_OFFLOAD: 'shelveOffload',
  UNSHELVE: 'unshelve',
  RESCUE: 'rescue',
  UNRESCUE: 'unrescue',
  /** Not Nova's: a console session the host's proxy opened (recorded by the conductor from the host's report). */
  CONSOLE: 'console',
} as const;
export type InstanceActionName = (typeof InstanceActionName)[keyof typeof InstanceActionName];

/** The compute-side event each action records (Nova's @wrap_instance_event names); lock/unlock have none. */
export const ACTION_EVENTS: Record<InstanceActionName, string | null> = {
  create: 'compute__do_build_and_run_instance',
  delete: 'compute_terminate_instance',
  soft_delete: 'compute_soft_delete_instance',
  restore: 'compute_restore_instance',
  stop: 'compute_stop_instance',
  start: 'compute_start_instance',
  reboot: 'compute_reboot_instance',
  pause: 'compute_pause_instance',
  unpause: 'compute_unpause_instance',
  suspend: 'compute_suspend_instance',
  resume: 'compute_resume_instance',
  rebuild: 'compute_rebuild_instance',
  createImage: 'compute_snapshot_instance',
  createBackup: 'compute_backup_instance',
  lock: null,
  unlock: null,
  attach_interface: 'compute_attach_interface',
  detach_interface: 'compute_detach_interface',
  trigger_crash_dump: 'compute_trigger_crash_dump',
  /** Nova records several events per move (prep_resize, resize_instance, finish_resize); this is the first. */
  resize: 'compute_prep_resize',
  migrate: 'compute_prep_resize',
  confirmResize: 'compute_confirm_resize',
  revertResize: 'compute_revert_resize',
  'live-migration': 'compute_live_migration',
  live_migration_force_complete: 'compute_live_migration_force_complete',
  live_migration_cancel: 'compute_live_migration_abort',
  evacuate: 'compute_rebuild_instance',
  shelve: 'compute_shelve_instance',
  shelveOffload: 'compute_shelve_offload_instance',
  unshelve: 'compute_unshelve_instance',
  rescue: 'compute_rescue_instance',
  unrescue: 'compute_unrescue_instance',
  /** Starts when the proxy accepts the token, finishes when the session ends. */
  console: 'compute_console_connect',
};

/**
 * Actions that put the instance in no task state (Nova records them and casts to the host): they
 * never stand for the task an instance is running, and their event is all a host's report ends.
 */
export const TASKLESS_ACTIONS: ReadonlySet<InstanceActionName> = new Set([
  InstanceActionName.ATTACH_INTERFACE,
  InstanceActionName.DETACH_INTERFACE,
  InstanceActionName.TRIGGER_CRASH_DUMP,
  InstanceActionName.CONSOLE,
]);

/** The actions whose host work is a snapshot uploaded as a new image. */
export const SNAPSHOT_ACTIONS: ReadonlySet<string> = new Set([InstanceActionName.CREATE_IMAGE, InstanceActionName.CREATE_BACKUP]);
