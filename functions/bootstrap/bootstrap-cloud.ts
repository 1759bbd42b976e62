import { bootstrapIdentity } from '../api/identity/bootstrap.js';
import { seedDefaultFlavors } from '../../shared/store/flavors.js';
import { seedDefaultNetworks } from './default-networks.js';

/**
 * What a new cloud needs before its first request: the admin project, user and roles, and
 * Nova's default flavors, and the default networks. Idempotent: run at every deploy (AWS) and every `npm start` (local).
 */
export async function bootstrapCloud({ adminPassword }: { adminPassword: string }) {
  const admin = await bootstrapIdentity({ adminPassword });
  await seedDefaultFlavors();
  await seedDefaultNetworks(admin.projectId);
  return admin;
}
