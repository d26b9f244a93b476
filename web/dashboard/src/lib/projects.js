// A project and its deployments, as the detail page shows them (the API has no single-project read).
import { api, ApiError } from './api.js';

export async function findProject(name, list = api.listProjects) {
  let next;
  do {
    const page = await list(next);
    const found = page.projects.find((p) => p.name === name);
    if (found) return found;
    next = page.next;
  } while (next);
  throw new ApiError(404, 'not_found', `There is no project named "${name}".`);
}

export async function loadProjectState(name, client = api) {
  const [project, deployments] = await Promise.all([
    findProject(name, client.listProjects),
    client.listDeployments(name),
  ]);
  return { project, deployments: deployments.deployments, live: deployments.live_deployment, next: deployments.next };
}
