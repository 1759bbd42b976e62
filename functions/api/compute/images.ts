import { z } from 'zod';
import type { Image } from '../../../shared/domain/image.js';
import { BadRequest, Conflict, NotFound } from '../../../shared/errors.js';
import { getImage, listImages, replaceImage } from '../../../shared/store/images.js';
import { projectLimits } from '../../../shared/store/quota-limits.js';
import { json, parseBody } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { assertCanModify, imageVisibleTo } from '../image/image-policy.js';
import { deleteImageAs } from '../image/images.js';
import { computeBase, nextLinks, pageOf, resourceLinks } from './links.js';
import { checkMetadataItems } from './server-metadata.js';

/**
 * Nova's image proxy (`/images`, gone from 2.36): Glance's images in Nova's words. Metadata is
 * the image's extra properties; a snapshot names the server it was taken of (`instance_uuid`).
 * The image metadata proxy (`/images/{id}/metadata`) lives three microversions longer: gone from 2.39.
 */
const BASE = '/compute/v2.1/images';

/** Nova's status words for Glance's. */
const STATUS: Record<string, string> = { active: 'ACTIVE', saving: 'SAVING', queued: 'SAVING', deleted: 'DELETED', pending_delete: 'DELETED', killed: 'ERROR' };
const PROGRESS: Record<string, number> = { ACTIVE: 100, SAVING: 25 };

const IMAGES_GONE = '2.36';
const METADATA_GONE = '2.39';

function checkVersion(req: ApiRequest, goneAt = IMAGES_GONE): void {
  if (req.microversion.atLeast(goneAt)) throw new NotFound('The resource could not be found.');
}

const iso = (t: string) => t.replace(/\.\d+Z$/, 'Z');

function view(req: ApiRequest, image: Image, detail: boolean) {
  const summary = { id: image.id, name: image.name, links: resourceLinks(req, 'images', image.id) };
  if (!detail) return summary;
  const status = STATUS[image.status] ?? 'UNKNOWN';
  const server = image.properties.instance_uuid;
  return {
    ...summary,
    'OS-DCF:diskConfig': image.properties.auto_disk_config === 'True' ? 'AUTO' : 'MANUAL',
    'OS-EXT-IMG-SIZE:size': image.size,
    created: iso(image.created_at),
    updated: iso(image.updated_at),
    metadata: image.properties,
    minDisk: image.min_disk,
    minRam: image.min_ram,
    progress: PROGRESS[status] ?? 0,
    status,
    ...(server && { server: { id: server, links: [{ href: `${computeBase(req)}/servers/${server}`, rel: 'bookmark' }] } }),
  };
}

async function loadImage(req: ApiRequest, goneAt = IMAGES_GONE): Promise<Image> {
  checkVersion(req, goneAt);
  const image = await getImage(req.params.image_id);
  if (!image || !imageVisibleTo(image, req.auth)) throw new NotFound('Image not found.');
  return image;
}

async function listing(req: ApiRequest, detail: boolean): Promise<ApiResponse> {
  checkVersion(req);
  const q = req.query;
  let images = (await listImages()).filter((i) => imageVisibleTo(i, req.auth) && !i.os_hidden);
  const name = q.get('name');
  if (name) images = images.filter((i) => i.name === name);
  const status = q.get('status');
  if (status) images = images.filter((i) => STATUS[i.status] === status.toUpperCase());
  const server = q.get('server');
  if (server) images = images.filter((i) => i.properties.instance_uuid === server.split('/').pop());
  const type = q.get('type');
  if (type) images = images.filter((i) => (type === 'snapshot') === (i.properties.image_type === 'snapshot'));
  for (const [param, field] of [['minRam', 'min_ram'], ['minDisk', 'min_disk']] as const) {
    const value = q.get(param);
    if (value === null) continue;
    if (!/^\d+$/.test(value)) throw new BadRequest(`Invalid ${param} filter [${value}]`);
    images = images.filter((i) => i[field] >= Number(value));
  }
  const since = q.get('changes-since');
  if (since) {
    const t = Date.parse(since);
    if (Number.isNaN(t)) throw new BadRequest('Invalid filter field: changes-since.');
    images = images.filter((i) => Date.parse(i.updated_at) >= t);
  }
  images.sort((a, b) => b.created_at.localeCompare(a.created_at) || a.id.localeCompare(b.id));
  const page = pageOf(q);
  if (page.marker) {
    const at = images.findIndex((i) => i.id === page.marker);
    if (at < 0) throw new BadRequest(`marker [${page.marker}] not found`);
    images = images.slice(at + 1);
  }
  images = images.slice(0, page.limit);
  const links = nextLinks(req, 'images', page, images.map((i) => i.id));
  return json(200, { images: images.map((i) => view(req, i, detail)), ...(links ? { images_links: links } : {}) });
}

async function show(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { image: view(req, await loadImage(req), true) });
}

async function remove(req: ApiRequest): Promise<ApiResponse> {
  await deleteImageAs(req, await loadImage(req));
  return { status: 204 };
}

// --- metadata ---------------------------------------------------------------------------------

const Metadata = z.record(z.string().min(1).max(255), z.string().max(255));

/** Writes the image's properties as computed from the current record, retried when another write got there first. */
async function changeMetadata(req: ApiRequest, change: (current: Record<string, string>) => Record<string, string>): Promise<Record<string, string>> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const image = await loadImage(req, METADATA_GONE);
    assertCanModify(image, req.auth);
    const properties = change(image.properties);
    checkMetadataItems(properties, await projectLimits(req.auth.project_id));
    if (await replaceImage({ ...image, properties, version: image.version + 1, updated_at: new Date().toISOString() })) return properties;
  }
  throw new Conflict('The image was changed by another request at the same time; try again.');
}

async function showMetadata(req: ApiRequest): Promise<ApiResponse> {
  return json(200, { metadata: (await loadImage(req, METADATA_GONE)).properties });
}

function writeMetadata(replace: boolean) {
  return async (req: ApiRequest): Promise<ApiResponse> => {
    checkVersion(req, METADATA_GONE);
    const { metadata } = parseBody(req, z.strictObject({ metadata: Metadata }));
    return json(200, { metadata: await changeMetadata(req, (current) => (replace ? metadata : { ...current, ...metadata })) });
  };
}

async function showMetaItem(req: ApiRequest): Promise<ApiResponse> {
  const { properties } = await loadImage(req, METADATA_GONE);
  const key = req.params.key;
  if (!(key in properties)) throw new NotFound(`Image ${req.params.image_id} has no metadata item ${key}.`);
  return json(200, { meta: { [key]: properties[key] } });
}

async function setMetaItem(req: ApiRequest): Promise<ApiResponse> {
  checkVersion(req, METADATA_GONE);
  const { meta } = parseBody(req, z.strictObject({ meta: Metadata }));
  const key = req.params.key;
  if (Object.keys(meta).length !== 1) throw new BadRequest('Request body contains too many items');
  if (!(key in meta)) throw new BadRequest('Request body and URI mismatch');
  await changeMetadata(req, (current) => ({ ...current, [key]: meta[key] }));
  return json(200, { meta });
}

async function deleteMetaItem(req: ApiRequest): Promise<ApiResponse> {
  const key = req.params.key;
  if (!(key in (await loadImage(req, METADATA_GONE)).properties)) throw new NotFound(`Image ${req.params.image_id} has no metadata item ${key}.`);
  await changeMetadata(req, ({ [key]: _gone, ...rest }) => rest);
  return { status: 204 };
}

export const imageProxyRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: (req) => listing(req, false) },
  { method: 'GET', path: `${BASE}/detail`, service: 'compute', handler: (req) => listing(req, true) },
  { method: 'GET', path: `${BASE}/{image_id}`, service: 'compute', handler: show },
  { method: 'DELETE', path: `${BASE}/{image_id}`, service: 'compute', handler: remove },
  { method: 'GET', path: `${BASE}/{image_id}/metadata`, service: 'compute', handler: showMetadata },
  { method: 'PUT', path: `${BASE}/{image_id}/metadata`, service: 'compute', handler: writeMetadata(true) },
  { method: 'POST', path: `${BASE}/{image_id}/metadata`, service: 'compute', handler: writeMetadata(false) },
  { method: 'GET', path: `${BASE}/{image_id}/metadata/{key}`, service: 'compute', handler: showMetaItem },
  { method: 'PUT', path: `${BASE}/{image_id}/metadata/{key}`, service: 'compute', handler: setMetaItem },
  { method: 'DELETE', path: `${BASE}/{image_id}/metadata/{key}`, service: 'compute', handler: deleteMetaItem },
];
