import type { Route } from '../http/types.js';
import { authScopeRoutes } from './auth-scopes.js';
import { domainRoutes } from './domains.js';
import { projectRoutes } from './projects.js';
import { roleAssignmentRoutes } from './role-assignments.js';
import { roleRoutes } from './roles.js';
import { tokenRoutes } from './tokens.js';
import { userRoutes } from './users.js';
import { versionRoutes } from './versions.js';

/** The identity service's routes (Identity API v3 subset), one module per API resource. */
export const identityRoutes: Route[] = [
  ...versionRoutes,
  ...tokenRoutes,
  ...authScopeRoutes,
  ...domainRoutes,
  ...projectRoutes,
  ...userRoutes,
  ...roleRoutes,
  ...roleAssignmentRoutes,
];
