import type { z } from 'zod';
import { GuestDiagnosticsSchema } from '../../../shared/domain/guest-diagnostics.js';
import { logger } from '../../../shared/logger.js';
import type { HeartbeatReportSchema } from '../../../shared/messages/conductor.js';
import { saveDiagnostics } from '../../../shared/store/instance-diagnostics.js';

/**
 * Stores the diagnostics samples a heartbeat carries, each under the host that sent it (the API
 * reads the sample of the instance's host, so a host cannot speak for another's guests). A
 * malformed sample is logged and dropped; a sample older than the stored one changes nothing.
 */
export async function storeGuestDiagnostics(report: z.infer<typeof HeartbeatReportSchema>): Promise<void> {
  await Promise.all(
    (report.diagnostics ?? []).map(async (raw) => {
      const sample = GuestDiagnosticsSchema.safeParse(raw);
      if (!sample.success) return logger.warn('dropped a malformed diagnostics sample', { host: report.host, issue: sample.error.issues[0]?.message });
      await saveDiagnostics(report.host, sample.data);
    }),
  );
}
