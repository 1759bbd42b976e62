import { PowerState } from '../../../shared/domain/instance-states.js';

/** QMP run states (qapi RunState) → Nova power states. */
export function powerStateOfRunState(status: string): PowerState {
  switch (status) {
    case 'running':
    case 'debug':
    case 'save-vm':
    case 'restore-vm':
      return PowerState.RUNNING;
    case 'paused':
    case 'prelaunch':
    case 'inmigrate':
    case 'postmigrate':
    case 'finish-migrate':
    case 'io-error':
    case 'colo':
    case 'watchdog':
      return PowerState.PAUSED;
    case 'suspended':
      return PowerState.SUSPENDED;
    case 'shutdown':
      return PowerState.SHUTDOWN;
    case 'internal-error':
    case 'guest-panicked':
      return PowerState.CRASHED;
    default:
      return PowerState.NOSTATE;
  }
}
