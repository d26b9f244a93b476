// Live form validation, mirroring the API's rules (lambdas/shared/names.py, lambdas/api/resource.py,
// lambdas/shared/environment.py) so people see a problem while typing; the API checks again.

export const MAX_PROJECT_NAME = 32;
export const PROJECT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const RESERVED_PROJECT_NAMES = new Set([
  'www', 'api', 'admin', 'dashboard', 'app', 'static', 'assets', 'cdn', 'mail', 'status', 'error',
]);
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
const DIRECTORY = /^[A-Za-z0-9._][A-Za-z0-9._/-]{0,199}$/;
const CONTROL = /[\x00-\x1f\x7f]/;
export const MAX_ENV_NAME = 128;
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** null when `name` is a valid project name (or alias), else why not. */
export function projectNameError(name) {
  if (!name) return 'Enter a name.';
  if (name.length > MAX_PROJECT_NAME) return `At most ${MAX_PROJECT_NAME} characters.`;
  if (/[A-Z]/.test(name)) return 'Use lowercase letters only.';
  if (/[^a-z0-9-]/.test(name)) return 'Use only lowercase letters, digits and hyphens.';
  if (name.startsWith('-') || name.endsWith('-')) return 'Cannot start or end with a hyphen.';
  if (name.includes('--')) return 'Cannot contain two hyphens in a row.';
  if (!PROJECT_NAME_PATTERN.test(name)) return 'Not a valid name.';
  if (RESERVED_PROJECT_NAMES.has(name)) return `"${name}" is reserved.`;
  return null;
}

/** null when `name` has the shape of a variable name; reserved names are left to the API's message. */
export function envNameError(name) {
  if (!name) return 'Enter a name.';
  if (name.length > MAX_ENV_NAME) return `At most ${MAX_ENV_NAME} characters.`;
  if (/^[0-9]/.test(name)) return 'Cannot start with a digit.';
  if (!ENV_NAME_PATTERN.test(name)) return 'Use only letters, digits and underscores.';
  return null;
}

function pathError(value, pattern, what) {
  if (value.includes('..') || value.includes('//') || value.startsWith('/') || value.endsWith('/')) {
    return `The ${what} must be a relative path without ".." or empty parts.`;
  }
  if (!pattern.test(value)) return `The ${what} may hold letters, digits, ".", "_", "-" and "/".`;
  return null;
}

/** Empty means the repository's default branch. */
export function branchError(branch) {
  return branch ? pathError(branch, BRANCH, 'branch') : null;
}

export function outputDirectoryError(directory) {
  return directory ? pathError(directory, DIRECTORY, 'output directory') : 'Enter the output directory.';
}

export function commandError(command, what = 'command') {
  if (!command.trim()) return `Enter the ${what}.`;
  if (command.length > 1000) return `The ${what} is too long.`;
  if (CONTROL.test(command)) return `The ${what} must be one line.`;
  return null;
}

/** Aliases from a text field (comma, space or newline separated): the list and the first problem. */
export function parseAliases(text, projectName) {
  const aliases = [...new Set(text.split(/[\s,]+/).filter(Boolean))].filter((a) => a !== projectName);
  for (const alias of aliases) {
    const error = projectNameError(alias);
    if (error) return { aliases, error: `${alias}: ${error}` };
  }
  return { aliases, error: null };
}

/** Every problem of a new-project form, by field; empty when it can be sent. */
export function projectFormErrors(form) {
  const errors = {};
  const checks = {
    project_name: projectNameError(form.project_name),
    repository_id: form.repository_id ? null : 'Choose a repository.',
    branch: branchError(form.branch ?? ''),
    install_command: commandError(form.install_command ?? '', 'install command'),
    build_command: commandError(form.build_command ?? '', 'build command'),
    output_directory: outputDirectoryError(form.output_directory ?? ''),
  };
  for (const [field, error] of Object.entries(checks)) if (error) errors[field] = error;
  return errors;
}
