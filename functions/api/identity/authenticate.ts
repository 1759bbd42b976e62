import { z } from 'zod';
import { BadRequest, Unauthorized } from '../../../shared/errors.js';
import { DEFAULT_DOMAIN, DomainRefSchema, isDefaultDomain } from './default-domain.js';
import { spendPasswordCheck, verifyPassword } from './passwords.js';
import { assignmentsOn } from './store/assignments.js';
import { findProjectByName, getProject, type Project } from './store/projects.js';
import { getRole } from './store/roles.js';
import { findUserByName, getUser, type User } from './store/users.js';
import type { TokenContext } from './token-context.js';
import { verifyToken } from './token-service.js';
import type { TokenClaims } from './token-service.js';

const NamedRefSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  domain: DomainRefSchema.optional(),
});

export const AuthRequestSchema = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.array(z.string()).min(1),
      password: z.object({ user: NamedRefSchema.extend({ password: z.string() }) }).optional(),
      token: z.object({ id: z.string().min(1) }).optional(),
    }),
    scope: z
      .union([
        z.literal('unscoped'),
        z.object({
          project: NamedRefSchema.optional(),
          domain: DomainRefSchema.optional(),
          system: z.unknown().optional(),
          'OS-TRUST:trust': z.unknown().optional(),
        }),
      ])
      .optional(),
  }),
});
export type AuthRequest = z.infer<typeof AuthRequestSchema>['auth'];

/**
 * Who asks (password or an existing token) and for which project, as keystone's auth flow:
 * every failure to prove identity is the same 401, whatever was wrong.
 */
export async function authenticate(auth: AuthRequest): Promise<{ claims: TokenClaims; expiresAt?: string }> {
  const { user, methods, parent } = await identify(auth.identity);
  const project = await scopeProject(auth, user, parent);
  const roles = await rolesOn(project, user);
  return {
    claims: {
      user_id: user.id,
      user_name: user.name,
      domain_id: user.domain_id,
      project_id: project.id,
      project_name: project.name,
      roles,
      methods,
    },
    expiresAt: parent?.expires_at,
  };
}

async function identify(identity: AuthRequest['identity']): Promise<{ user: User; methods: string[]; parent?: TokenContext }> {
  if (identity.methods.includes('password')) {
    if (!identity.password) throw new BadRequest("Invalid input for field 'identity/password': the password method needs a 'password' object.");
    return { user: await passwordUser(identity.password.user), methods: ['password'] };
  }
  if (identity.methods.includes('token')) {
    if (!identity.token) throw new BadRequest("Invalid input for field 'identity/token': the token method needs a 'token' object.");
    const parent = await verifyToken(identity.token.id);
    const user = await getUser(parent.user_id);
    if (!user?.enabled) throw new Unauthorized();
    return { user, methods: [...new Set(['token', ...parent.methods])], parent };
  }
  throw new Unauthorized(`Unsupported authentication method: ${identity.methods.join(', ')}.`);
}

async function passwordUser(ref: z.infer<typeof NamedRefSchema> & { password: string }): Promise<User> {
  if (ref.id === undefined && (ref.name === undefined || ref.domain === undefined)) {
    throw new BadRequest('Expecting to find a user id, or a user name and its domain, in identity/password/user.');
  }
  let user: User | undefined;
  if (ref.id !== undefined) user = await getUser(ref.id);
  else if (ref.domain && isDefaultDomain(ref.domain)) user = await findUserByName(DEFAULT_DOMAIN.id, ref.name!);
  if (!user?.password_hash) {
    await spendPasswordCheck(ref.password);
    throw new Unauthorized();
  }
  if (!(await verifyPassword(ref.password, user.password_hash)) || !user.enabled) throw new Unauthorized();
  return user;
}

/**
 * Only project scope exists here (every TokenContext names a project). With no scope, the token
 * is scoped to the user's default project, or to the parent token's project when rescoping; a
 * user with neither gets a 401 rather than an unscoped token.
 */
async function scopeProject(auth: AuthRequest, user: User, parent?: TokenContext): Promise<Project> {
  const scope = auth.scope === 'unscoped' ? undefined : auth.scope;
  if (scope?.domain || scope?.system !== undefined || scope?.['OS-TRUST:trust'] !== undefined) {
    // Keystone's answer to a user with no role on the domain or system asked for: clients such as
    // Horizon then scope to a project instead.
    throw new Unauthorized('Only project-scoped tokens are supported: scope the request to a project.');
  }
  let project: Project | undefined;
  if (scope?.project) {
    const ref = scope.project;
    if (ref.id !== undefined) project = await getProject(ref.id);
    else if (ref.name !== undefined && ref.domain !== undefined) {
      project = isDefaultDomain(ref.domain) ? await findProjectByName(DEFAULT_DOMAIN.id, ref.name) : undefined;
    } else throw new BadRequest('Expecting to find a project id, or a project name and its domain, in scope/project.');
    if (!project?.enabled) throw new Unauthorized(`Could not find an enabled project to scope to.`);
  } else {
    const projectId = parent?.project_id ?? user.default_project_id;
    if (projectId) project = await getProject(projectId);
    if (!project?.enabled) throw new Unauthorized('Unscoped tokens are not supported and the user has no usable default project: scope the request to a project.');
  }
  return project;
}

async function rolesOn(project: Project, user: User): Promise<TokenContext['roles']> {
  const assignments = await assignmentsOn(project.id, user.id);
  const roles = (await Promise.all(assignments.map((a) => getRole(a.role_id)))).filter((r) => r !== undefined);
  if (roles.length === 0) throw new Unauthorized(`User ${user.id} has no access to project ${project.id}.`);
  return roles.map((r) => ({ id: r.id, name: r.name }));
}
