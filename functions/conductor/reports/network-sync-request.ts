import type { z } from 'zod';
import type { NetworkResyncSchema, NetworkSyncRequestSchema } from '../../../shared/messages/conductor.js';
import { syncHostNetworks } from '../../../shared/network-plan/sync.js';

/** An agent started and asks for its network plan: compute and send it. */
export async function onNetworkSyncRequest(report: z.infer<typeof NetworkSyncRequestSchema>): Promise<void> {
  await syncHostNetworks([report.host], report.request_id ?? `req-sync-${report.host}`, { followUp: false });
}

/** The second look after a change (see NetworkResyncSchema): the plans again, with no further follow-up. */
export async function onNetworkResync(message: z.infer<typeof NetworkResyncSchema>): Promise<void> {
  await syncHostNetworks(message.hosts, message.request_id, { followUp: false });
}
