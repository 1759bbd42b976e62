import { z } from 'zod';
import type { Image } from '../../../shared/domain/image.js';
import { BadRequest, Conflict, Forbidden } from '../../../shared/errors.js';
import { validate } from '../http/body.js';
import {
  ExtraPropertiesSchema,
  WRITABLE,
  WritableAttributesSchema,
  assertSettable,
  assertWithinQuotas,
  uniqueTags,
} from './image-attributes.js';

/** The media type of glance's v2.1 JSON patch (RFC 6902 ops on top-level attributes). */
export const JSON_PATCH_MEDIA_TYPE = 'application/openstack-images-v2.1-json-patch';

export const PatchDocumentSchema = z.array(
  z.object({ op: z.string(), path: z.string(), value: z.unknown().optional() }),
);
export type PatchDocument = z.infer<typeof PatchDocumentSchema>;

/** Decodes a JSON pointer that names one top-level attribute: `/name`, `/hw~1disk` → `hw/disk`. */
export function attributeOfPath(path: string): string {
  if (!path.startsWith('/') || path.length < 2) {
    throw new BadRequest(`Json path should start with a '/', end with no '/', no 2 subsequent '/' are allowed: ${path}`);
  }
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '')) {
    throw new BadRequest(`Json path should start with a '/', end with no '/', no 2 subsequent '/' are allowed: ${path}`);
  }
  if (segments.length > 1) throw new BadRequest(`Nested paths are not allowed: ${path}`);
  return segments[0].replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Applies a v2.1 JSON patch to an image the way glance does: `add` sets (and overwrites),
 * `replace` needs an existing extra property (409 otherwise), `remove` works on extra properties
 * only (403 on a base attribute, 409 on a missing one); read-only attributes are 403.
 * Returns the patched image with its values validated; the caller stores it and checks policy.
 */
export function applyImagePatch(image: Image, patch: PatchDocument): Image {
  const attributes: Record<string, unknown> = Object.fromEntries([...WRITABLE].map((k) => [k, image[k as keyof Image]]));
  const properties: Record<string, unknown> = { ...image.properties };

  for (const change of patch) {
    if (change.op !== 'add' && change.op !== 'replace' && change.op !== 'remove') {
      throw new BadRequest(`Unable to find '${change.op}' in JSON Schema change. It must be one of the following: add, remove, replace.`);
    }
    const name = attributeOfPath(change.path);
    assertSettable(name);
    if (change.op !== 'remove' && !('value' in change)) {
      throw new BadRequest("Unable to find 'value' in JSON Schema change");
    }

    if (WRITABLE.has(name)) {
      if (change.op === 'remove') throw new Forbidden(`Property ${name} may not be removed.`);
      attributes[name] = change.value;
      continue;
    }
    const exists = Object.hasOwn(properties, name);
    if (change.op !== 'add' && !exists) throw new Conflict(`Property ${name} does not exist.`);
    if (change.op === 'remove') delete properties[name];
    else properties[name] = change.value;
  }

  const patched = validate(WritableAttributesSchema, attributes);
  const extra = validate(ExtraPropertiesSchema, properties);
  const tags = uniqueTags(patched.tags);
  assertWithinQuotas(tags, extra);

  if (image.status !== 'queued') {
    for (const format of ['disk_format', 'container_format'] as const) {
      if (patched[format] !== image[format]) {
        throw new Forbidden(`Attribute ${format} can be only replaced for a queued image.`);
      }
    }
  }
  return { ...image, ...patched, tags, properties: extra };
}
