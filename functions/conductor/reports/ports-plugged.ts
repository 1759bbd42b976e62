import type { z } from 'zod';
import { ConcurrentModification } from '../../../shared/domain/network/errors.js';
import { logger } from '../../../shared/logger.js';
import type { PortsPluggedReportSchema } from '../../../shared/messages/conductor.js';
import { getPort, updatePort } from '../../../shared/store/network/ports.js';

/**
 * The host plugged these ports (its data plane has them as its plan says): each becomes ACTIVE,
 * as Neutron's update_device_up does, if it is still bound to that host. A conditional write on
 * the port's revision; a repeated report finds it ACTIVE already and writes nothing.
 */
export async function onPortsPlugged(report: z.infer<typeof PortsPluggedReportSchema>): Promise<void> {
  let activated = 0;
  for (const portId of new Set(report.port_ids)) if (await activatePort(portId, report.host)) activated++;
  if (activated) logger.info('ports plugged on host are active', { host: report.host, ports: activated });
}

async function activatePort(portId: string, host: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const port = await getPort(portId);
    // Gone, moved to another host meanwhile, or already active: nothing to do.
    if (!port || port.binding_host_id !== host || port.status === 'ACTIVE') return false;
    try {
      await updatePort(port, { status: 'ACTIVE' });
      return true;
    } catch (error) {
      // Changed between the read and the write: read again.
      if (!(error instanceof ConcurrentModification) || attempt >= 5) throw error;
    }
  }
}
