import type { Image, ImageVisibility } from '../../../shared/domain/image.js';
import { Forbidden, NotFound } from '../../../shared/errors.js';
import { isAdmin, type Caller } from '../identity/token-context.js';

/**
 * Glance's default policy, minus image members (novaless has none, so a `shared` image is
 * seen by its owner and admins only): admins see everything, public and community images
 * are seen by everyone, private and shared ones by their owner.
 */
export function imageVisibleTo(image: Pick<Image, 'owner' | 'visibility'>, auth: Caller): boolean {
  if (isAdmin(auth) || image.owner === auth.project_id) return true;
  return image.visibility === 'public' || image.visibility === 'community';
}

export const notFound = (id: string) => new NotFound(`No image found with ID ${id}`);

/** Loads-then-checks helper: 404 for an image the caller cannot see, 403 for one it can see but not change. */
export function assertCanModify(image: Image, auth: Caller, action: 'modify' | 'delete' | 'upload data to' = 'modify'): void {
  if (!imageVisibleTo(image, auth)) throw notFound(image.id);
  if (!isAdmin(auth) && image.owner !== auth.project_id) {
    throw new Forbidden(`You are not permitted to ${action} image ${image.id}.`);
  }
}

/** Glance's publicize_image policy: role:admin. */
export function assertCanSetVisibility(visibility: ImageVisibility, auth: Caller): void {
  if (visibility === 'public' && !isAdmin(auth)) {
    throw new Forbidden('You are not authorized to complete publicize_image action.');
  }
}

/** Only admins give an image to another project. */
export function assertCanSetOwner(owner: string, auth: Caller): void {
  if (owner !== auth.project_id && !isAdmin(auth)) {
    throw new Forbidden(`You are not permitted to create or modify images owned by '${owner}'.`);
  }
}
