import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { GuestSpec } from '../../shared/messages/host.js';

const run = promisify(execFile);

/** The tools that write ISO 9660 images, in the order tried: Nova uses genisoimage (mkisofs). */
export const ISO_TOOLS = ['genisoimage', 'mkisofs', 'xorrisofs'] as const;
export type IsoTool = (typeof ISO_TOOLS)[number];

/** The first ISO tool found on PATH, or undefined. */
export async function findIsoTool(): Promise<IsoTool | undefined> {
  for (const tool of ISO_TOOLS) {
    try {
      await run(tool, ['-version']);
      return tool;
    } catch (error) {
      // A tool that exists but dislikes -version still exists (ENOENT is the only "missing").
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return tool;
    }
  }
  return undefined;
}

/** Nova's metadata as the config drive carries it (nova/api/metadata/base.py, the OpenStack format). */
export function metaDataOf(spec: GuestSpec): Record<string, unknown> {
  const publicKeys = spec.key_name && spec.key_data ? { [spec.key_name]: spec.key_data } : {};
  return {
    uuid: spec.instance_id,
    name: spec.name,
    hostname: spec.hostname,
    project_id: spec.project_id,
    availability_zone: spec.availability_zone,
    launch_index: spec.launch_index,
    meta: spec.metadata,
    public_keys: publicKeys,
    keys: Object.entries(publicKeys).map(([name, data]) => ({ name, type: 'ssh', data })),
    random_seed: randomBytes(512).toString('base64'),
    devices: [],
  };
}

/** No network is plugged yet (the guests have no NIC): the minimal, valid network_data.json. */
export function networkDataOf(_spec: GuestSpec): Record<string, unknown> {
  return { links: [], networks: [], services: [] };
}

/** The files of the drive, path inside the ISO → contents. user_data arrives base64-encoded (as in the API). */
export function configDriveFiles(spec: GuestSpec): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set('openstack/latest/meta_data.json', Buffer.from(JSON.stringify(metaDataOf(spec))));
  files.set('openstack/latest/network_data.json', Buffer.from(JSON.stringify(networkDataOf(spec))));
  files.set('openstack/latest/vendor_data.json', Buffer.from('{}'));
  if (spec.user_data !== null && spec.user_data !== '') files.set('openstack/latest/user_data', Buffer.from(spec.user_data, 'base64'));
  return files;
}

/**
 * Writes the config drive of a guest to `isoPath`: ISO 9660 with Rock Ridge and Joliet, volume
 * label `config-2`, as cloud-init's ConfigDrive data source expects.
 */
export async function writeConfigDrive(spec: GuestSpec, isoPath: string, tool?: IsoTool): Promise<void> {
  const isoTool = tool ?? (await findIsoTool());
  if (!isoTool) throw new Error(`no ISO 9660 tool found to build the config drive (install one of ${ISO_TOOLS.join(', ')})`);
  const staging = await mkdtemp(join(dirname(isoPath), '.config-drive-'));
  try {
    for (const [path, contents] of configDriveFiles(spec)) {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), contents);
    }
    await run(isoTool, ['-o', isoPath, '-V', 'config-2', '-r', '-J', '-l', '-ldots', '-allow-lowercase', '-allow-multidot', '-quiet', '-publisher', 'novaless', staging]);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
