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

/** nova/api/openstack/common.py _STATE_MAP: vm_state → { task_state | 'default' → status }. */
const STATUS_MAP: Record<VmState, Record<string, string>> = {
  active: {
    default: 'ACTIVE',
    rebooting: 'REBOOT',
    rebooting_hard: 'HARD_REBOOT',
    rebuilding: 'REBUILD',
  },
  building: { default: 'BUILD' },
  stopped: { default: 'SHUTOFF', rebuilding: 'REBUILD' },
  resized: { default: 'VERIFY_RESIZE' },
  paused: { default: 'PAUSED' },
  suspended: { default: 'SUSPENDED' },
  rescued: { default: 'RESCUE' },
  error: { default: 'ERROR', rebuilding: 'REBUILD' },
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

/**
 * The states each server action allows (Nova's @check_instance_state on the compute API).
 * `taskStates: [null]` means no task may be running.
 */
export const allowedStates = {
  delete: { vmStates: null, taskStates: null },
  update: { vmStates: null, taskStates: null },
} satisfies Record<string, { vmStates: VmState[] | null; taskStates: (TaskState | null)[] | null }>;
