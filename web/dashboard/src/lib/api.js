// The platform API as the dashboard uses it: one `request` that turns every failure into an `ApiError`
// with a message a person can act on, and one function per endpoint (docs/API.md).

/** Messages for answers without a usable `{"error": {...}}` body, by status. */
export const STATUS_MESSAGES = {
  0: 'The platform could not be reached. Check your connection and try again.',
  400: 'The request was not accepted.',
  401: 'Your session has ended. Sign in again.',
  403: 'You are not allowed to do this.',
  404: 'Not found.',
  405: 'This action is not available.',
  409: 'This conflicts with the current state. Reload and try again.',
  413: 'The request is too large.',
  429: 'Too many requests. Try again later.',
  500: 'Something went wrong on the platform. Try again in a moment.',
  502: 'GitHub could not be reached. Try again in a moment.',
  503: 'AWS refused the operation; nothing was changed. Try again in a moment.',
};

const MAX_MESSAGE = 300; // longer texts are internals or HTML error pages, not messages

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  get signedOut() {
    return this.status === 401;
  }
}

/** The error for a failed answer: the API's own message when it sent one, else one by status. */
export function errorFromResponse(status, bodyText) {
  let code = `http_${status}`;
  let message = '';
  try {
    const error = JSON.parse(bodyText)?.error;
    if (error && typeof error === 'object') {
      if (typeof error.code === 'string') code = error.code;
      if (typeof error.message === 'string') message = error.message.trim();
    }
  } catch {
    // not JSON: an edge error page or a proxy's answer
  }
  if (!message || message.length > MAX_MESSAGE) {
    message = STATUS_MESSAGES[status] ?? (status >= 500 ? STATUS_MESSAGES[500] : STATUS_MESSAGES[400]);
  } else {
    message = message[0].toUpperCase() + message.slice(1);
  }
  return new ApiError(status, code, message);
}

/** Query string of the defined values only. */
export function queryString(query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * @param {string} method
 * @param {string} path  e.g. `/api/user/fetchinfo`
 * @param {{ body?: unknown, query?: Record<string, unknown>, fetch?: typeof fetch }} [options]
 */
export async function request(method, path, { body, query, fetch: f = globalThis.fetch } = {}) {
  /** @type {Response} */
  let response;
  try {
    response = await f(path + queryString(query), {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', STATUS_MESSAGES[0]);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw errorFromResponse(response.status, text);
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, 'bad_response', 'The platform sent an answer the dashboard cannot read.');
  }
}

export const SIGN_IN_URL = '/api/auth/authorize';

const R = '/api/resource';
const A = '/api/admin';

export const api = {
  fetchInfo: () => request('GET', '/api/user/fetchinfo'),
  logout: () => request('POST', '/api/auth/logout'),
  refresh: () => request('POST', '/api/auth/refresh'),

  listRepositories: () => request('GET', `${R}/listrepository`),
  listProjects: (next) => request('GET', `${R}/listproject`, { query: { limit: 100, next } }),
  createProject: (project) => request('POST', `${R}/createproject`, { body: project }),
  updateProject: (changes) => request('PATCH', `${R}/updateproject`, { body: changes }),
  updateAliases: (project_name, aliases) => request('POST', `${R}/updatealias`, { body: { project_name, aliases } }),
  // `commit` (optional): rebuild that commit, e.g. the live one with a changed environment.
  buildProject: (project_name, commit) => request('POST', `${R}/buildproject`, { body: { project_name, commit } }),
  listDeployments: (project_name, next) =>
    request('GET', `${R}/listdeployments`, { query: { project_name, limit: 20, next } }),
  rollbackProject: (project_name, deployment_id) =>
    request('POST', `${R}/rollbackproject`, { body: { project_name, deployment_id } }),
  deleteProject: (project_name) => request('DELETE', `${R}/deleteproject`, { body: { project_name } }),
  fetchLog: (query) => request('POST', `${R}/fetchlog`, { body: query }),
  getEnv: (project_name) => request('GET', `${R}/env`, { query: { project_name } }),
  setEnv: (project_name, variables) => request('PUT', `${R}/env`, { body: { project_name, variables } }),
  unsetEnv: (project_name, names, target = 'both') =>
    request('DELETE', `${R}/env`, { body: { project_name, names, target } }),

  findUser: (user_id) => request('GET', `${A}/finduser`, { query: { user_id } }),
  findProjects: (query) => request('GET', `${A}/findproject`, { query }),
  updateUser: (user_id, subscription_id) =>
    request('PATCH', `${A}/updateuser`, { body: { user_id, update: { subscription_id } } }),
  updateRoles: (user_id, rbac_roles) => request('PATCH', `${A}/updaterole`, { body: { user_id, rbac_roles } }),
  listSubscriptions: () => request('GET', `${A}/listsubscription`),
  upsertSubscription: (subscription) => request('PUT', `${A}/upsertsubscription`, { body: subscription }),
  deleteUser: (user_id) => request('DELETE', `${A}/deleteuser`, { body: { user_id } }),
  adminDeleteProject: (project_name) => request('DELETE', `${A}/deleteproject`, { body: { project_name } }),
  adminFetchLog: (query) => request('POST', `${A}/fetchlog`, { body: query }),
};
