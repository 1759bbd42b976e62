import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { objects } from '../../../shared/aws.js';
import { config } from '../../../shared/config.js';
import { imageObjectKey, type Image } from '../../../shared/domain/image.js';
import { Conflict, Forbidden, UnsupportedMediaType } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { createImage, deleteUnprotectedImage, getImage, listImages, replaceImage } from '../../../shared/store/images.js';
import { json, parseBody, validate } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import {
  ExtraPropertiesSchema,
  WRITABLE,
  WritableAttributesSchema,
  assertSettable,
  assertWithinQuotas,
  uniqueTags,
} from './image-attributes.js';
import { pageLinks, parseImageListQuery, selectImages } from './image-filters.js';
import { assertCanModify, assertCanSetOwner, assertCanSetVisibility, imageVisibleTo, notFound } from './image-policy.js';
import { imageView } from './image-view.js';
import { JSON_PATCH_MEDIA_TYPE, PatchDocumentSchema, applyImagePatch } from './json-patch.js';

const IMAGES = '/image/v2/images';
const IMAGE = '/image/v2/images/{image_id}';

/** glance's id pattern: any hex 8-4-4-4-12, whatever its version bits. */
const ImageIdSchema = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);

const CreateImageSchema = WritableAttributesSchema.partial().extend({ id: ImageIdSchema.optional() });

/** Loads an image the caller can see: 404 for one that is missing or hidden from it. */
export async function loadVisibleImage(req: ApiRequest): Promise<Image> {
  const id = req.params.image_id;
  const image = await getImage(id);
  if (!image || !imageVisibleTo(image, req.auth)) throw notFound(id);
  return image;
}

/** POST /v2/images: 201 with the new (queued) image. */
async function create(req: ApiRequest): Promise<ApiResponse> {
  const raw = parseBody(req, z.record(z.string(), z.unknown()));
  for (const name of Object.keys(raw)) assertSettable(name, { creating: true });
  const extraEntries = Object.entries(raw).filter(([k]) => k !== 'id' && !WRITABLE.has(k));
  const body = validate(CreateImageSchema, Object.fromEntries(Object.entries(raw).filter(([k]) => k === 'id' || WRITABLE.has(k))));
  const properties = validate(ExtraPropertiesSchema, Object.fromEntries(extraEntries));
  const tags = uniqueTags(body.tags ?? []);
  assertWithinQuotas(tags, properties);

  const visibility = body.visibility ?? 'shared';
  const owner = body.owner ?? req.auth.project_id;
  assertCanSetVisibility(visibility, req.auth);
  assertCanSetOwner(owner, req.auth);

  const now = new Date().toISOString();
  const image: Image = {
    id: body.id ?? randomUUID(),
    name: body.name ?? null,
    owner,
    status: 'queued',
    visibility,
    protected: body.protected ?? false,
    os_hidden: body.os_hidden ?? false,
    disk_format: body.disk_format ?? null,
    container_format: body.container_format ?? null,
    min_disk: body.min_disk ?? 0,
    min_ram: body.min_ram ?? 0,
    size: null,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    tags,
    properties,
    created_at: now,
    updated_at: now,
    version: 1,
  };
  if (!(await createImage(image))) throw new Conflict(`Image with identifier ${image.id} already exists!`);
  return json(201, imageView(image), { Location: `${req.baseUrl}/image/v2/images/${image.id}` });
}

/** GET /v2/images: a page of the images the caller can see, newest first unless sorted otherwise. */
async function list(req: ApiRequest): Promise<ApiResponse> {
  const query = parseImageListQuery(req.query);
  const { page, more } = selectImages(await listImages(), query, req.auth);
  return json(200, { images: page.map(imageView), schema: '/v2/schemas/images', ...pageLinks(req.query, page, more) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, imageView(await loadVisibleImage(req)));
}

/** PATCH /v2/images/{id} with a v2.1 JSON patch: 200 with the updated image. */
async function update(req: ApiRequest): Promise<ApiResponse> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== JSON_PATCH_MEDIA_TYPE) {
    throw new UnsupportedMediaType(`Unsupported Content-Type ${type || '(none)'}; use ${JSON_PATCH_MEDIA_TYPE}`);
  }
  const patch = parseBody(req, PatchDocumentSchema);
  const image = await loadVisibleImage(req);
  assertCanModify(image, req.auth);
  const patched = applyImagePatch(image, patch);
  if (patched.visibility !== image.visibility) assertCanSetVisibility(patched.visibility, req.auth);
  if (patched.owner !== image.owner) assertCanSetOwner(patched.owner, req.auth);

  const next: Image = { ...patched, version: image.version + 1, updated_at: new Date().toISOString() };
  if (!(await replaceImage(next))) throw new Conflict(`Image ${image.id} was changed by another request; try again.`);
  return json(200, imageView(next));
}

/** DELETE /v2/images/{id}: 204; the record goes first, then the bytes. */
async function remove(req: ApiRequest): Promise<ApiResponse> {
  await deleteImageAs(req, await loadVisibleImage(req));
  return json(204);
}

/** Glance's delete of an image the caller sees: 403 for another's or a protected one. Also compute's image proxy's. */
export async function deleteImageAs(req: ApiRequest, image: Image): Promise<void> {
  assertCanModify(image, req.auth, 'delete');
  const protectedError = () => new Forbidden(`Image ${image.id} is protected and cannot be deleted.`);
  if (image.protected) throw protectedError();
  if (!(await deleteUnprotectedImage(image.id))) {
    const now = await getImage(image.id, true);
    if (!now) throw notFound(image.id);
    throw protectedError();
  }
  try {
    await objects().send(new DeleteObjectCommand({ Bucket: config().IMAGE_BUCKET, Key: imageObjectKey(image.id) }));
  } catch (error) {
    // The image is gone for its users; the orphaned object costs storage only.
    logger.error('image data left behind after delete', { image_id: image.id, error: error as Error });
  }
}

export const imageResourceRoutes: Route[] = [
  { method: 'POST', path: IMAGES, service: 'image', handler: create },
  { method: 'GET', path: IMAGES, service: 'image', handler: list },
  { method: 'GET', path: IMAGE, service: 'image', handler: show },
  { method: 'PATCH', path: IMAGE, service: 'image', handler: update },
  { method: 'DELETE', path: IMAGE, service: 'image', handler: remove },
];
