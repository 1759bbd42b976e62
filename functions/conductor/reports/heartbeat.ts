import type { z } from 'zod';
import type { HeartbeatReportSchema } from '../../../shared/messages/conductor.js';
import { recordHeartbeat } from '../host-records.js';
import { syncPowerStates } from './power-state-sync.js';

/** The agent is alive: move its heartbeat forward (older heartbeats change nothing) and sync its guests' power states. */
export async function onHeartbeat(report: z.infer<typeof HeartbeatReportSchema>): Promise<void> {
  await recordHeartbeat(report.host, report.at);
  await syncPowerStates(report);
}
