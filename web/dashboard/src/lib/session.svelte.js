// Who is signed in, loaded once per page load and shared by every page.
import { api } from './api.js';

export const ADMIN_PERMISSIONS = {
  users: ['READ_USER'],
  roles: ['WRITE_ROLE'],
  projects: ['READ_PROJECT'],
  subscriptions: ['READ_SUBSCRIPTION'],
  logs: ['READ_LOGS'],
};

export const session = $state({ info: null, loading: true, error: null });

let loading = null;

/** Loads (or reloads) the signed-in user; a 401 means nobody is signed in, not an error. */
export function loadSession(force = false) {
  if (loading && !force) return loading;
  session.loading = true;
  loading = api.fetchInfo().then(
    (info) => { session.info = info; session.error = null; },
    (error) => { session.info = null; session.error = error.status === 401 ? null : error; },
  ).finally(() => { session.loading = false; });
  return loading;
}

export function can(permission) {
  return Boolean(session.info?.permissions?.includes(permission));
}

/** Which admin sections the user may open. */
export function adminSections() {
  return Object.keys(ADMIN_PERMISSIONS).filter((s) => ADMIN_PERMISSIONS[s].some(can));
}

export async function signOut() {
  try { await api.logout(); } finally { session.info = null; }
}
