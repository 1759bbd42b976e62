import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { issuePasswordToken, type Credentials } from '../../infra/local/password-token.js';
import { handlerEnvironment } from '../../infra/local/state-dir.js';
import { currentLane } from './lanes.js';
import { createProjectMember } from './projects.js';

const run = promisify(execFile);

/** The local cloud of this file's lane, started by test/support/global-setup.ts. */
export const cloud = () => {
  const clouds = inject('clouds');
  return clouds[currentLane(clouds.length)];
};

/**
 * Points this test process's AWS SDK clients and handler config at the shared cloud's emulators,
 * so integration tests can call the real handlers in-process. Call before the first AWS call.
 */
export function useCloudEnvironment(): void {
  Object.assign(process.env, handlerEnvironment(cloud()));
}

export type { Credentials };

export const adminCredentials = (): Credentials => ({ username: 'admin', password: cloud().adminPassword, project: 'admin' });

/** Environment for the `openstack` CLI as the given user (admin by default). */
export function openstackEnv(who: Credentials = adminCredentials()): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    OS_AUTH_URL: cloud().authUrl,
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: who.username,
    OS_PASSWORD: who.password,
    OS_PROJECT_NAME: who.project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: 'RegionOne',
    OS_INTERFACE: 'public',
  };
}

/** Runs the real `openstack` CLI; resolves with stdout, rejects with the CLI's stderr. */
export async function openstack(args: string[], who?: Credentials, timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run('openstack', args, { env: openstackEnv(who), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** `openstack ... -f json`, parsed. */
export async function openstackJson<T = Record<string, unknown>>(args: string[], who?: Credentials): Promise<T> {
  return JSON.parse(await openstack([...args, '-f', 'json'], who)) as T;
}

/** A project-scoped token for raw HTTP calls. */
export async function issueToken(who: Credentials = adminCredentials()): Promise<string> {
  return issuePasswordToken(cloud().authUrl, who);
}

/** A raw API call against the shared cloud; returns status, headers and the parsed body. */
export async function api(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers['X-Auth-Token'] = opts.token;
  let body: string | Buffer | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  } else if (typeof opts.rawBody === 'string') headers['Content-Type'] ??= 'application/json';
  const res = await fetch(`${cloud().apiUrl}${path}`, { method, headers, body: body as BodyInit | undefined });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Creates a project and a user in it with `role` (as admin, through the Identity API) and returns their credentials. */
export async function createProjectUser(name: string, role = 'member'): Promise<Credentials> {
  const { username, password, project } = await createProjectMember(name, await issueToken(), role);
  return { username, password, project };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
