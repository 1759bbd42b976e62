import { z } from 'zod';
import { byType, keys } from '../../../../shared/store/keys.js';
import { getItem, listByType } from '../../../../shared/store/table.js';
import { newId } from '../ids.js';
import { createNamed, deleteNamed } from './named-items.js';

export const RoleSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
});
export type Role = z.infer<typeof RoleSchema>;

/** Creates a role; undefined if a role of that name exists. */
export async function createRole(fields: Omit<Role, 'id'>): Promise<Role | undefined> {
  const role: Role = { ...fields, id: newId() };
  const created = await createNamed(
    { ...keys.role(role.id), type: 'ROLE', gsi2pk: byType('ROLE'), gsi2sk: role.name, ...role },
    { ...keys.roleName(role.name), type: 'ROLE_NAME', role_id: role.id },
  );
  return created ? role : undefined;
}

export async function getRole(id: string): Promise<Role | undefined> {
  const item = await getItem(keys.role(id), true);
  return item ? RoleSchema.parse(item) : undefined;
}

export async function findRoleByName(name: string): Promise<Role | undefined> {
  const guard = await getItem(keys.roleName(name), true);
  return typeof guard?.role_id === 'string' ? getRole(guard.role_id) : undefined;
}

export async function listRoles(): Promise<Role[]> {
  return (await listByType('ROLE')).map((item) => RoleSchema.parse(item));
}

export function deleteRole(role: Role): Promise<boolean> {
  return deleteNamed(keys.role(role.id), keys.roleName(role.name));
}
