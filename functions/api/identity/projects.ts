import { z } from 'zod';
import { BadRequest, Conflict, NotFound } from '../../../shared/errors.js';
import { json, parseBody, parseQuery } from '../http/body.js';
import type { ApiRequest, Route } from '../http/types.js';
import { DEFAULT_DOMAIN } from './default-domain.js';
import { collectionLinks, v3Url } from './links.js';
import { requireAdmin, requireAdminOrProject } from './policy.js';
import { revokeTokensOf } from './revocations.js';
import { assignmentsOn, deleteAssignments } from './store/assignments.js';
import { createProject, deleteProject, findProjectByName, getProject, listProjects, updateProject, type Project } from './store/projects.js';

const ProjectNameSchema = z.string().trim().min(1).max(64);
const TagsSchema = z.array(z.string().min(1).max(255)).max(80);

const ProjectCreateSchema = z.object({
  project: z.object({
    name: ProjectNameSchema,
    domain_id: z.string().nullish(),
    parent_id: z.string().nullish(),
    is_domain: z.boolean().optional(),
    description: z.string().max(65535).nullish(),
    enabled: z.boolean().optional(),
    tags: TagsSchema.optional(),
  }),
});

const ProjectUpdateSchema = z.object({
  project: z.object({
    name: ProjectNameSchema.optional(),
    description: z.string().max(65535).nullish(),
    enabled: z.boolean().optional(),
    tags: TagsSchema.optional(),
  }),
});

const BooleanQuerySchema = z.enum(['true', 'True', 'false', 'False', '1', '0']).transform((v) => v === 'true' || v === 'True' || v === '1');

const ProjectListQuerySchema = z.object({
  name: z.string().optional(),
  domain_id: z.string().optional(),
  enabled: BooleanQuerySchema.optional(),
  is_domain: BooleanQuerySchema.optional(),
  parent_id: z.string().optional(),
});

export function projectView(req: ApiRequest, project: Project) {
  return {
    id: project.id,
    name: project.name,
    domain_id: project.domain_id,
    description: project.description,
    enabled: project.enabled,
    parent_id: project.domain_id,
    is_domain: false,
    tags: project.tags,
    options: {},
    links: { self: v3Url(req, `/projects/${project.id}`) },
  };
}

export async function loadProject(id: string): Promise<Project> {
  const project = await getProject(id);
  if (!project) throw new NotFound(`Could not find project: ${id}.`);
  return project;
}

const nameConflict = (name: string) =>
  new Conflict(`Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${name}.`);

/** `POST /v3/projects` (201). Projects live in the Default domain, at the top of the hierarchy. */
async function create(req: ApiRequest) {
  requireAdmin(req, 'create_project');
  const { project: body } = parseBody(req, ProjectCreateSchema);
  if (body.domain_id && body.domain_id !== DEFAULT_DOMAIN.id) throw new NotFound(`Could not find domain: ${body.domain_id}.`);
  if (body.parent_id && body.parent_id !== DEFAULT_DOMAIN.id) throw new BadRequest('Project hierarchies are not supported: parent_id must be the domain.');
  if (body.is_domain) throw new BadRequest('Projects acting as domains are not supported.');
  const project = await createProject({
    name: body.name,
    description: body.description ?? '',
    enabled: body.enabled ?? true,
    tags: body.tags ?? [],
  });
  if (!project) throw nameConflict(body.name);
  return json(201, { project: projectView(req, project) });
}

/** `GET /v3/projects`, with keystone's `name`, `domain_id`, `enabled`, `is_domain` and `parent_id` filters. */
async function list(req: ApiRequest) {
  requireAdmin(req, 'list_projects');
  const query = parseQuery(req, ProjectListQuerySchema);
  let projects: Project[];
  if (query.name !== undefined) {
    const found = await findProjectByName(query.domain_id ?? DEFAULT_DOMAIN.id, query.name);
    projects = found ? [found] : [];
  } else {
    projects = await listProjects();
  }
  projects = projects.filter(
    (p) =>
      (query.domain_id === undefined || p.domain_id === query.domain_id) &&
      (query.parent_id === undefined || p.domain_id === query.parent_id) &&
      (query.enabled === undefined || p.enabled === query.enabled) &&
      query.is_domain !== true,
  );
  return json(200, { projects: projects.map((p) => projectView(req, p)), links: collectionLinks(req) });
}

async function show(req: ApiRequest) {
  requireAdminOrProject(req, 'get_project', req.params.project_id);
  return json(200, { project: projectView(req, await loadProject(req.params.project_id)) });
}

/** `PATCH /v3/projects/{id}`: name, description, enabled, tags. Disabling a project revokes its tokens. */
async function update(req: ApiRequest) {
  requireAdmin(req, 'update_project');
  const { project: body } = parseBody(req, ProjectUpdateSchema);
  const project = await loadProject(req.params.project_id);
  const changes = {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.description !== undefined ? { description: body.description ?? '' } : {}),
    ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
    ...(body.tags !== undefined ? { tags: body.tags } : {}),
  };
  const outcome = await updateProject(project, changes);
  if (outcome === 'missing') throw new NotFound(`Could not find project: ${project.id}.`);
  if (outcome === 'name-taken') throw nameConflict(changes.name ?? project.name);
  if (changes.enabled === false && project.enabled) await revokeTokensOf({ project_id: project.id });
  return json(200, { project: projectView(req, { ...project, ...changes }) });
}

/** `DELETE /v3/projects/{id}` (204): the project, its role assignments, and every token scoped to it. */
async function remove(req: ApiRequest) {
  requireAdmin(req, 'delete_project');
  const project = await loadProject(req.params.project_id);
  if (!(await deleteProject(project))) throw new NotFound(`Could not find project: ${project.id}.`);
  await deleteAssignments(await assignmentsOn(project.id));
  await revokeTokensOf({ project_id: project.id });
  return json(204);
}

export const projectRoutes: Route[] = [
  { method: 'POST', path: '/identity/v3/projects', service: 'identity', handler: create },
  { method: 'GET', path: '/identity/v3/projects', service: 'identity', handler: list },
  { method: 'GET', path: '/identity/v3/projects/{project_id}', service: 'identity', handler: show },
  { method: 'PATCH', path: '/identity/v3/projects/{project_id}', service: 'identity', handler: update },
  { method: 'DELETE', path: '/identity/v3/projects/{project_id}', service: 'identity', handler: remove },
];
