import { api, issueToken, type Credentials } from './cloud.js';

export interface ProjectMember extends Credentials {
  projectId: string;
  token: string;
}

/**
 * A project with a member user in it, made through the Identity API as admin (as
 * createProjectUser does with the CLI, without paying three CLI start-ups per project), and a
 * token scoped to it.
 */
export async function createProjectMember(name: string, adminToken: string, role = 'member'): Promise<ProjectMember> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api(method, `/identity/v3${path}`, { token: adminToken, body });
    if (res.status >= 300) throw new Error(`${method} ${path} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const password = `pw-${name}-${Math.random().toString(36).slice(2)}`;
  const { project } = await call('POST', '/projects', { project: { name, domain_id: 'default' } });
  const { user } = await call('POST', '/users', { user: { name, password, domain_id: 'default', default_project_id: project.id } });
  const { roles } = await call('GET', `/roles?name=${role}`);
  await call('PUT', `/projects/${project.id}/users/${user.id}/roles/${roles[0].id}`);
  const who = { username: name, password, project: name };
  return { ...who, projectId: project.id as string, token: await issueToken(who) };
}
