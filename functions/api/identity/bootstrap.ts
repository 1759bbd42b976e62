import { logger } from '../../../shared/logger.js';
import { DEFAULT_DOMAIN } from './default-domain.js';
import { hashPassword } from './passwords.js';
import { assignRole } from './store/assignments.js';
import { createProject, findProjectByName, type Project } from './store/projects.js';
import { createRole, findRoleByName, type Role } from './store/roles.js';
import { createUser, findUserByName, type User } from './store/users.js';

export const BOOTSTRAP_ROLES = ['admin', 'member', 'reader'] as const;

/**
 * `keystone-manage bootstrap`: roles admin/member/reader, project `admin`, user `admin` with the
 * admin role on it. Idempotent: what exists is kept (an existing admin keeps its password), so
 * it is safe at every start and when two starts race (name guards make the creates conditional).
 */
export async function bootstrapIdentity({ adminPassword }: { adminPassword: string }): Promise<{ projectId: string; userId: string }> {
  const roles = await Promise.all(BOOTSTRAP_ROLES.map((name) => ensure(() => findRoleByName(name), () => createRole({ name }))));
  const project = await ensure<Project>(
    () => findProjectByName(DEFAULT_DOMAIN.id, 'admin'),
    () => createProject({ name: 'admin', description: 'Bootstrap project for initializing the cloud.', enabled: true, tags: [] }),
  );
  const user = await ensure<User>(
    () => findUserByName(DEFAULT_DOMAIN.id, 'admin'),
    async () => createUser({ name: 'admin', enabled: true, default_project_id: project.id, password_hash: await hashPassword(adminPassword) }),
  );
  const admin = roles.find((r: Role) => r.name === 'admin')!;
  const outcome = await assignRole({ project_id: project.id, user_id: user.id, role_id: admin.id });
  if (outcome !== 'assigned') throw new Error(`bootstrap could not assign the admin role: ${outcome}`);
  logger.info('identity bootstrapped', { project_id: project.id, user_id: user.id });
  return { projectId: project.id, userId: user.id };
}

/** Finds an item by name, or creates it; a lost creation race finds the winner's. */
async function ensure<T>(find: () => Promise<T | undefined>, create: () => Promise<T | undefined>): Promise<T> {
  const existing = await find();
  if (existing) return existing;
  const created = (await create()) ?? (await find());
  if (!created) throw new Error('bootstrap: an item was neither found nor created');
  return created;
}
