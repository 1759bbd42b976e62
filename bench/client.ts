import { performance } from 'node:perf_hooks';
import { issuePasswordToken, type Credentials } from '../infra/local/password-token.js';

export type { Credentials };

/** A user with a project-scoped token, ready to call the API. */
export interface Tenant extends Credentials {
  projectId: string;
  userId: string;
  token: string;
}

export interface ApiResult {
  status: number;
  body: any;
  /** Wall time of the call, request sent to body read. */
  ms: number;
}

/** A plain HTTP client for the local cloud, timing every call. */
export class ApiClient {
  constructor(readonly apiUrl: string) {}

  async call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: Uint8Array<ArrayBuffer>; contentType?: string } = {}): Promise<ApiResult> {
    const headers: Record<string, string> = {};
    if (opts.token) headers['X-Auth-Token'] = opts.token;
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    } else if (opts.raw) {
      body = opts.raw;
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    }
    const started = performance.now();
    const res = await fetch(`${this.apiUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const elapsed = performance.now() - started;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, ms: elapsed };
  }

  /** Like call, but throws unless the status is the one expected. */
  async expect(status: number, method: string, path: string, opts: Parameters<ApiClient['call']>[2] = {}): Promise<ApiResult> {
    const out = await this.call(method, path, opts);
    if (out.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${out.status}: ${JSON.stringify(out.body).slice(0, 500)}`);
    return out;
  }

  issueToken(who: Credentials): Promise<string> {
    return issuePasswordToken(`${this.apiUrl}/identity/v3`, who);
  }
}

/**
 * Projects with one member user each, made through the identity API as admin, so a benchmark
 * can spread its servers under the per-project quota (10 instances, 20 cores).
 */
export async function createTenants(client: ApiClient, adminToken: string, prefix: string, count: number): Promise<Tenant[]> {
  const roles = await client.expect(200, 'GET', '/identity/v3/roles?name=member', { token: adminToken });
  const memberRoleId: string | undefined = roles.body.roles?.[0]?.id;
  if (!memberRoleId) throw new Error('no member role in this cloud');
  return Promise.all(
    Array.from({ length: count }, async (_, k): Promise<Tenant> => {
      const name = `${prefix}-${k + 1}`;
      const password = `pw-${name}-${Math.random().toString(36).slice(2)}`;
      const project = await client.expect(201, 'POST', '/identity/v3/projects', { token: adminToken, body: { project: { name, domain_id: 'default' } } });
      const projectId: string = project.body.project.id;
      const user = await client.expect(201, 'POST', '/identity/v3/users', {
        token: adminToken,
        body: { user: { name, password, domain_id: 'default', default_project_id: projectId } },
      });
      await client.expect(204, 'PUT', `/identity/v3/projects/${projectId}/users/${user.body.user.id}/roles/${memberRoleId}`, { token: adminToken });
      const creds = { username: name, password, project: name };
      return { ...creds, projectId, userId: user.body.user.id, token: await client.issueToken(creds) };
    }),
  );
}

/** A small public raw image every project can boot (the fake driver never reads its bytes). */
export async function createPublicImage(client: ApiClient, adminToken: string, name: string): Promise<string> {
  const created = await client.expect(201, 'POST', '/image/v2/images', {
    token: adminToken,
    body: { name, disk_format: 'raw', container_format: 'bare', visibility: 'public' },
  });
  const id: string = created.body.id;
  await client.expect(204, 'PUT', `/image/v2/images/${id}/file`, { token: adminToken, raw: new Uint8Array(1024 * 1024) });
  return id;
}

/** m1.tiny: 1 vCPU, 512 MB, 1 GB disk (Nova's default flavor 1). */
export const TINY = { id: '1', vcpus: 1, ram: 512, disk: 1 } as const;

/** What `openstack server create --image I --flavor m1.tiny NAME` sends at 2.1 (networks left to the cloud: an address is allocated). */
export const serverBody = (name: string, imageId: string) => ({ server: { name, imageRef: imageId, flavorRef: TINY.id } });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
