import type { Image } from '../../../shared/domain/image.js';
import { BadRequest, Conflict, NotFound } from '../../../shared/errors.js';
import { replaceImage } from '../../../shared/store/images.js';
import { json } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { assertWithinQuotas } from './image-attributes.js';
import { assertCanModify } from './image-policy.js';
import { loadVisibleImage } from './images.js';

const TAG = '/image/v2/images/{image_id}/tags/{tag}';

async function loadModifiable(req: ApiRequest): Promise<Image> {
  const image = await loadVisibleImage(req);
  assertCanModify(image, req.auth);
  return image;
}

async function saveTags(image: Image, tags: string[]): Promise<void> {
  assertWithinQuotas(tags, image.properties);
  const next: Image = { ...image, tags, version: image.version + 1, updated_at: new Date().toISOString() };
  if (!(await replaceImage(next))) throw new Conflict(`Image ${image.id} was changed by another request; try again.`);
}

/** PUT /v2/images/{id}/tags/{tag}: 204, also when the image already has the tag. */
async function addTag(req: ApiRequest): Promise<ApiResponse> {
  const tag = req.params.tag;
  if (tag.length > 255) throw new BadRequest('Image tag must be at most 255 characters long.');
  const image = await loadModifiable(req);
  if (!image.tags.includes(tag)) await saveTags(image, [...image.tags, tag]);
  return json(204);
}

/** DELETE /v2/images/{id}/tags/{tag}: 204, or 404 when the image has no such tag. */
async function removeTag(req: ApiRequest): Promise<ApiResponse> {
  const tag = req.params.tag;
  const image = await loadModifiable(req);
  if (!image.tags.includes(tag)) throw new NotFound(`Tag ${tag} not found on image ${image.id}.`);
  await saveTags(image, image.tags.filter((t) => t !== tag));
  return json(204);
}

export const imageTagRoutes: Route[] = [
  { method: 'PUT', path: TAG, service: 'image', handler: addTag },
  { method: 'DELETE', path: TAG, service: 'image', handler: removeTag },
];
