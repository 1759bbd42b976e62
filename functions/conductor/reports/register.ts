import type { z } from 'zod';
import { logger } from '../../../shared/logger.js';
import type { RegisterReportSchema } from '../../../shared/messages/conductor.js';
import { registerHost } from '../host-records.js';

/** A host agent started: record (or refresh) its inventory and give it its own queue. */
export async function onRegister(report: z.infer<typeof RegisterReportSchema>): Promise<void> {
  await registerHost(report.inventory, report.at);
  logger.info('host registered', { host: report.host, vcpus: report.inventory.vcpus, memory_mb: report.inventory.memory_mb });
}
