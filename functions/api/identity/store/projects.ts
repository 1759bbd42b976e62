import { z } from 'zod';
import { byType, keys } from '../../../../shared/store/keys.js';
import { getItem, listByType } from '../../../../shared/store/table.js';
import { DEFAULT_DOMAIN } from '../default-domain.js';
import { newId } from '../ids.js';
import { createNamed, deleteNamed, updateNamed, type UpdateOutcome } from './named-items.js';

export const ProjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  domain_id: z.string(),
  description: z.string().default(''),
  enabled: z.boolean(),
  tags: z.array(z.string()).default([]),
});
export type Project = z.infer<typeof ProjectSchema>;

const toItem = (project: Project) => ({
  ...keys.project(project.id),
  type: 'PROJECT',
  gsi2pk: byType('PROJECT'),
  gsi2sk: project.name,
  ...project,
});

const guardOf = (project: Pick<Project, 'id' | 'name' | 'domain_id'>) => ({
  ...keys.projectName(project.domain_id, project.name),
  type: 'PROJECT_NAME',
  project_id: project.id,
});

/** Creates a project; undefined if the domain already has a project of that name. */
export async function createProject(fields: Omit<Project, 'id' | 'domain_id'>): Promise<Project | undefined> {
  const project: Project = { ...fields, id: newId(), domain_id: DEFAULT_DOMAIN.id };
  return (await createNamed(toItem(project), guardOf(project))) ? project : undefined;
}

export async function getProject(id: string): Promise<Project | undefined> {
  const item = await getItem(keys.project(id), true);
  return item ? ProjectSchema.parse(item) : undefined;
}

export async function findProjectByName(domainId: string, name: string): Promise<Project | undefined> {
  const guard = await getItem(keys.projectName(domainId, name), true);
  return typeof guard?.project_id === 'string' ? getProject(guard.project_id) : undefined;
}

export async function listProjects(): Promise<Project[]> {
  return (await listByType('PROJECT')).map((item) => ProjectSchema.parse(item));
}

export function updateProject(project: Project, changes: Partial<Pick<Project, 'name' | 'description' | 'enabled' | 'tags'>>): Promise<UpdateOutcome> {
  return updateNamed(keys.project(project.id), changes, { name: project.name, guardOf: (name) => guardOf({ ...project, name }) });
}

export function deleteProject(project: Project): Promise<boolean> {
  return deleteNamed(keys.project(project.id), keys.projectName(project.domain_id, project.name));
}
