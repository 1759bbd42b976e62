import type { z } from 'zod';
import type { HeartbeatReportSchema } from '../../../shared/messages/conductor.js';
import { recordHeartbeat } from '../host-records.js';
import { storeGuestDiagnostics } from './guest-diagnostics.js';
import { syncPowerStates } from './power-state-sync.js';

/** The agent is alive: move its heartbeat forward (older heartbeats change nothing), sync its guests' power states, keep their diagnostics. */
export async function onHeartbeat(report: z.infer<typeof HeartbeatReportSchema>): Promise<void> {
  await recordHeartbeat(report.host, report.at, report.uptime);
  await syncPowerStates(report);
  await storeGuestDiagnostics(report);
}
