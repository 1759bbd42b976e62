import type { Route } from '../http/types.js';
import { aggregateRoutes } from './aggregates.js';
import { attachInterfaceRoutes } from './attach-interfaces.js';
import { availabilityZoneRoutes } from './availability-zones.js';
import { extensionRoutes } from './extensions/extensions.js';
import { consoleAuthTokenRoutes } from './console-auth-tokens.js';
import { flavorAccessRoutes } from './flavor-access.js';
import { flavorExtraSpecsRoutes } from './flavor-extra-specs.js';
import { flavorManageRoutes } from './flavor-manage.js';
import { flavorRoutes } from './flavors.js';
import { hypervisorRoutes } from './hypervisors.js';
import { imageProxyRoutes } from './images.js';
import { instanceUsageAuditLogRoutes } from './instance-usage-audit-log.js';
import { keypairRoutes } from './keypairs.js';
import { migrationRoutes } from './migrations.js';
import { networkProxyApiRoutes } from './network-proxy/routes.js';
import { osHostRoutes } from './os-hosts.js';
import { serverExternalEventRoutes } from './server-external-events.js';
import { serverPasswordRoutes } from './server-password.js';
import { serverDiagnosticsRoutes } from './server-diagnostics.js';
import { simpleTenantUsageRoutes } from './simple-tenant-usage.js';
import { limitRoutes } from './limits.js';
import { quotaClassSetRoutes } from './quota-class-sets.js';
import { quotaSetRoutes } from './quota-sets.js';
import { remoteConsoleRoutes } from './remote-consoles.js';
import { serverIpsRoutes } from './server-ips.js';
import { serverMetadataRoutes } from './server-metadata.js';
import { serverGroupRoutes } from './server-groups.js';
import { serverRoutes } from './servers.js';
import { serverTagRoutes } from './server-tags.js';
import { serverShareRoutes } from './server-shares.js';
import { serverTopologyRoutes } from './server-topology.js';
import { virtualInterfaceRoutes } from './virtual-interfaces.js';
import { serverActionRoutes } from './server-actions/routes.js';
import { serviceRoutes } from './services.js';
import { versionRoutes } from './versions.js';
import { volumeAttachmentRoutes } from './volume-attachments.js';

/** The compute service's routes, one module per API resource. */
export const computeRoutes: Route[] = [
  ...versionRoutes,
  ...extensionRoutes,
  ...serverRoutes,
  ...serverActionRoutes,
  ...remoteConsoleRoutes,
  ...consoleAuthTokenRoutes,
  ...serverMetadataRoutes,
  ...serverIpsRoutes,
  ...serverTagRoutes,
  ...attachInterfaceRoutes,
  ...serverTopologyRoutes,
  ...serverShareRoutes,
  ...virtualInterfaceRoutes,
  ...volumeAttachmentRoutes,
  ...flavorRoutes,
  ...flavorManageRoutes,
  ...flavorExtraSpecsRoutes,
  ...flavorAccessRoutes,
  ...keypairRoutes,
  ...serverGroupRoutes,
  ...limitRoutes,
  ...quotaSetRoutes,
  ...quotaClassSetRoutes,
  ...availabilityZoneRoutes,
  ...serviceRoutes,
  ...hypervisorRoutes,
  ...aggregateRoutes,
  ...migrationRoutes,
  ...imageProxyRoutes,
  ...osHostRoutes,
  ...serverPasswordRoutes,
  ...serverDiagnosticsRoutes,
  ...serverExternalEventRoutes,
  ...instanceUsageAuditLogRoutes,
  ...simpleTenantUsageRoutes,
  ...networkProxyApiRoutes,
];
