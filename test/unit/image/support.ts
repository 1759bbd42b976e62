import type { Image } from '../../../shared/domain/image.js';
import { ApiError } from '../../../shared/errors.js';
import type { TokenContext } from '../../../functions/api/identity/token-context.js';

export function anImage(overrides: Partial<Image> = {}): Image {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    name: 'cirros',
    owner: 'project-a',
    status: 'queued',
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    disk_format: 'qcow2',
    container_format: 'bare',
    min_disk: 0,
    min_ram: 0,
    size: null,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    tags: [],
    properties: {},
    created_at: '2024-05-01T10:00:00.000Z',
    updated_at: '2024-05-01T10:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

export function caller(projectId: string, roles: string[] = ['member']): TokenContext {
  return {
    id: 'token',
    user_id: 'user',
    user_name: 'user',
    domain_id: 'default',
    project_id: projectId,
    project_name: projectId,
    roles: roles.map((name) => ({ id: name, name })),
    methods: ['password'],
    issued_at: '2024-05-01T10:00:00Z',
    expires_at: '2024-05-01T11:00:00Z',
  };
}

/** The HTTP status of the ApiError `fn` throws, or undefined if it throws none. */
export function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
  return undefined;
}
