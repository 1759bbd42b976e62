import '../support/cloud-env.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as conductor } from '../../functions/conductor/handler.js';
import { consolePrivateKey } from '../../shared/console/console-keys.js';
import { mintConsoleToken, type ConsoleTokenClaims } from '../../shared/console/console-token.js';
import { VmState } from '../../shared/domain/instance-states.js';
import type { ConductorMessage } from '../../shared/messages/conductor.js';
import { createInstances, getInstance, removeInstance } from '../../shared/store/instances.js';
import { api, cloud, issueToken } from '../support/cloud.js';
import { hostInventory, newInstance, retireHost, uniqueName } from '../support/fixtures.js';
import { deliver } from '../support/queue-events.js';

/**
 * What the conductor makes of a host's console reports: the token counts as used for
 * os-console-auth-tokens, and the session is a `console` action with a `compute_console_connect`
 * event that finishes when the session ends, whatever order the reports come in and however
 * often. The real conductor handler in-process and the real API of the shared cloud, one table.
 */
const zone = uniqueName('console-zone');
const hostName = uniqueName('console-host');
const projectId = uniqueName('console-project');
const CONSOLE_PORT = 16080;

describe('console sessions reported by a host', () => {
  let adminToken: string;
  const created: string[] = [];

  beforeAll(async () => {
    adminToken = await issueToken();
    const inventory = { ...hostInventory(hostName, zone), console_url: `https://127.0.0.1:${CONSOLE_PORT}/` };
    await deliver(conductor, { type: 'register', host: hostName, at: new Date().toISOString(), inventory } satisfies ConductorMessage);
  });

  afterAll(async () => {
    for (const id of created) {
      const instance = await getInstance(id);
      if (instance) await removeInstance(instance);
    }
    await retireHost(hostName).catch(() => undefined);
  });

  async function activeInstance(): Promise<string> {
    const instance = newInstance(projectId, { availability_zone: zone, host: hostName, vm_state: VmState.ACTIVE, task_state: null, power_state: 1 });
    await createInstances([instance], { instances: 1000, cores: 1000, ram: 1_000_000 });
    created.push(instance.id);
    return instance.id;
  }

  async function token(instanceId: string): Promise<{ token: string; claims: ConsoleTokenClaims }> {
    const key = consolePrivateKey(readFileSync(cloud().consoleKeyFile, 'utf8'), 'test');
    return mintConsoleToken(key, { host: hostName, instanceId, protocol: 'vnc', projectId, userId: 'console-user', requestId: `req-${randomUUID()}` });
  }

  const session = (c: ConsoleTokenClaims, openedAt: string, host = hostName) => ({
    host,
    at: openedAt,
    request_id: c.rid,
    instance_id: c.sub,
    jti: c.jti,
    protocol: c.proto,
    user_id: c.uid,
    project_id: c.pid,
    token_expires_at: c.exp,
    opened_at: openedAt,
  });
  const opened = (c: ConsoleTokenClaims, openedAt: string, host?: string): ConductorMessage => ({ type: 'console_opened', ...session(c, openedAt, host) });
  const closed = (c: ConsoleTokenClaims, openedAt: string, closedAt: string): ConductorMessage => ({
    type: 'console_closed',
    ...session(c, openedAt),
    at: closedAt,
    closed_at: closedAt,
    ended_by: 'client',
    bytes_to_client: 1234,
    bytes_from_client: 56,
  });

  const showToken = (t: string) => api('GET', `/compute/v2.1/os-console-auth-tokens/${t}`, { token: adminToken, headers: { 'OpenStack-API-Version': 'compute 2.31' } });
  const actions = async (id: string) => (await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions`, { token: adminToken })).body.instanceActions as Record<string, unknown>[];
  const action = async (id: string, requestId: string) =>
    (await api('GET', `/compute/v2.1/servers/${id}/os-instance-actions/${requestId}`, { token: adminToken })).body.instanceAction as Record<string, any>;

  it('a used token is 404 in os-console-auth-tokens; the session is a console action, finished when it ends', async () => {
    const id = await activeInstance();
    const { token: t, claims } = await token(id);
    const before = await showToken(t);
    expect([before.status, before.body.console?.port]).toEqual([200, CONSOLE_PORT]);

    const openedAt = new Date().toISOString();
    await deliver(conductor, opened(claims, openedAt));
    const after = await showToken(t);
    expect([after.status, after.body.itemNotFound?.message]).toEqual([404, 'Token not found']);

    expect(await actions(id)).toEqual([expect.objectContaining({ action: 'console', request_id: claims.rid, user_id: 'console-user', project_id: projectId, message: null })]);
    const open = await action(id, claims.rid!);
    expect(open.events).toEqual([expect.objectContaining({ event: 'compute_console_connect', finish_time: null, result: null })]);

    const closedAt = new Date(Date.parse(openedAt) + 42_000).toISOString();
    await deliver(conductor, closed(claims, openedAt, closedAt), closed(claims, openedAt, closedAt));
    const done = await action(id, claims.rid!);
    expect(done.events).toEqual([expect.objectContaining({ event: 'compute_console_connect', result: 'Success', finish_time: closedAt.replace(/Z$/, '').replace(/\.(\d+)$/, (_m, f: string) => `.${f.padEnd(6, '0')}`) })]);
    // A repeated opened report changes nothing.
    await deliver(conductor, opened(claims, openedAt));
    expect((await action(id, claims.rid!)).events[0].result).toBe('Success');
    expect(await actions(id)).toHaveLength(1);
  });

  it('records a session whose closed report comes before its opened one, once', async () => {
    const id = await activeInstance();
    const { token: t, claims } = await token(id);
    const openedAt = new Date().toISOString();
    const closedAt = new Date(Date.parse(openedAt) + 5_000).toISOString();
    await deliver(conductor, closed(claims, openedAt, closedAt));
    await deliver(conductor, opened(claims, openedAt), opened(claims, openedAt));
    expect((await showToken(t)).status).toBe(404);
    const list = await actions(id);
    expect(list.map((a) => a.action)).toEqual(['console']);
    expect((await action(id, claims.rid!)).events).toEqual([expect.objectContaining({ event: 'compute_console_connect', result: 'Success' })]);
  });

  it('ignores a report from a host that does not run the instance', async () => {
    const id = await activeInstance();
    const { token: t, claims } = await token(id);
    await deliver(conductor, opened(claims, new Date().toISOString(), 'some-other-host'));
    expect((await showToken(t)).status).toBe(200);
    expect(await actions(id)).toEqual([]);
  });
});
