import { z } from 'zod';
import { byType, keys } from '../../../../shared/store/keys.js';
import { getItem, listByType } from '../../../../shared/store/table.js';
import { DEFAULT_DOMAIN } from '../default-domain.js';
import { newId } from '../ids.js';
import { createNamed, deleteNamed, updateNamed, type UpdateOutcome } from './named-items.js';

export const UserSchema = z.object({
  id: z.string(),
  name: z.string(),
  domain_id: z.string(),
  enabled: z.boolean(),
  default_project_id: z.string().optional(),
  email: z.string().optional(),
  description: z.string().optional(),
  /** `scrypt$...`, see passwords.ts; absent for a user without a password (who cannot log in). */
  password_hash: z.string().optional(),
});
export type User = z.infer<typeof UserSchema>;
export type UserFields = Omit<User, 'id' | 'domain_id'>;

const toItem = (user: User) => ({
  ...keys.user(user.id),
  type: 'USER',
  gsi2pk: byType('USER'),
  gsi2sk: user.name,
  ...user,
});

const guardOf = (user: Pick<User, 'id' | 'name' | 'domain_id'>) => ({
  ...keys.userName(user.domain_id, user.name),
  type: 'USER_NAME',
  user_id: user.id,
});

/** Creates a user; undefined if the domain already has a user of that name. */
export async function createUser(fields: UserFields): Promise<User | undefined> {
  const user: User = { ...fields, id: newId(), domain_id: DEFAULT_DOMAIN.id };
  return (await createNamed(toItem(user), guardOf(user))) ? user : undefined;
}

export async function getUser(id: string): Promise<User | undefined> {
  const item = await getItem(keys.user(id), true);
  return item ? UserSchema.parse(item) : undefined;
}

export async function findUserByName(domainId: string, name: string): Promise<User | undefined> {
  const guard = await getItem(keys.userName(domainId, name), true);
  return typeof guard?.user_id === 'string' ? getUser(guard.user_id) : undefined;
}

export async function listUsers(): Promise<User[]> {
  return (await listByType('USER')).map((item) => UserSchema.parse(item));
}

/** Changes attributes; a key whose value is undefined is removed (e.g. default_project_id: null in a PATCH). */
export function updateUser(user: User, changes: Partial<UserFields>): Promise<UpdateOutcome> {
  return updateNamed(keys.user(user.id), changes, { name: user.name, guardOf: (name) => guardOf({ ...user, name }) });
}

export function deleteUser(user: User): Promise<boolean> {
  return deleteNamed(keys.user(user.id), keys.userName(user.domain_id, user.name));
}
