import type { Logger } from '@aws-lambda-powertools/logger';
import { PowerState } from '../../shared/domain/instance-states.js';
import type { KeyedLock, Semaphore } from '../concurrency.js';
import { GuestNotFound, type ComputeDriver } from '../drivers/driver.js';
import type { LocalState } from '../local-state.js';
import type { Reporter } from '../reports.js';

/** What a command handler works with; passed in, so handlers run without SQS in tests. */
export interface CommandContext {
  driver: ComputeDriver;
  state: LocalState;
  reporter: Reporter;
  /** Limits concurrent builds (max_parallel_builds). */
  builds: Semaphore;
  /** Serialises commands for the same guest: a destroy waits for the spawn in progress. */
  guestLocks: KeyedLock;
  /** Carries request_id and instance_id. */
  log: Logger;
}

/** The guest's power state as the hypervisor sees it; NOSTATE when the guest is gone. */
export async function currentPowerState(driver: ComputeDriver, instanceId: string): Promise<PowerState> {
  try {
    return (await driver.getInfo(instanceId)).power_state;
  } catch (error) {
    if (error instanceof GuestNotFound) return PowerState.NOSTATE;
    throw error;
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
