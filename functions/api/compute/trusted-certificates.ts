import type { Image } from '../../../shared/domain/image.js';
import type { Instance } from '../../../shared/domain/instance.js';
import { ACTION_EVENTS, VmState } from '../../../shared/domain/instance-states.js';
import { logger } from '../../../shared/logger.js';
import { finishEvent } from '../../../shared/store/instance-actions.js';
import { updateInstance } from '../../../shared/store/instances.js';

/**
 * Trusted image certificates (2.63). Nova checks them on the compute host as it downloads the
 * image (cursive's get_verifier, even with verify_glance_signatures off): the image must carry
 * its signature properties, and the signing certificate is fetched from the key manager and
 * validated against the trusted ids. This cloud has no key manager, so no image can pass: a boot
 * that asks for trusted certificates ends as Nova's does when the check fails — the build is
 * aborted (no reschedule) and the server is in ERROR with the reason as its fault.
 */

/** cursive's property names, in the order it checks them. */
const SIGNATURE_PROPERTIES: [string, string][] = [
  ['img_signature_uuid', 'img_signature_certificate_uuid'],
  ['img_signature_hash_method', 'img_signature_hash_method'],
  ['img_signature', 'img_signature'],
  ['img_signature_key_type', 'img_signature_key_type'],
];

/** The message of cursive's SignatureVerificationError for this image. */
export function signatureFailure(image: Pick<Image, 'properties'>): string {
  const missing = SIGNATURE_PROPERTIES.find(([, property]) => !image.properties[property]);
  const reason = missing
    ? `Required image properties for signature verification do not exist. Cannot verify signature. Missing property: ${missing[0]}`
    : `Unable to retrieve certificate with ID ${image.properties.img_signature_certificate_uuid}: no key manager is configured`;
  return `Signature verification for the image failed: ${reason}.`;
}

/** Nova's BuildAbortException for each new server: ERROR with the fault, its create event failed. */
export async function abortBuilds(instances: Instance[], reason: string, requestId: string, startedAt: string): Promise<void> {
  const now = new Date().toISOString();
  await Promise.all(
    instances.map(async (i) => {
      const message = `Build of instance ${i.id} aborted: ${reason}`;
      logger.warn('build aborted: image not verifiable', { instance_id: i.id, reason });
      await updateInstance(i, { vm_state: VmState.ERROR, task_state: null, task_deadline: null, fault: { code: 500, message, created: now } });
      await finishEvent(i.id, requestId, { event: ACTION_EVENTS.create!, start_time: startedAt, finish_time: now, result: 'Error', traceback: message });
    }),
  );
}

/** Whether a new server's build must be aborted rather than scheduled. */
export const needsVerification = (i: Pick<Instance, 'trusted_image_certificates'>) => !!i.trusted_image_certificates?.length;
