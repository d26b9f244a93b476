import { describe, expect, it } from 'vitest';
import { envNameError, parseAliases, projectFormErrors, projectNameError } from './validation.js';

describe('project names (mirroring lambdas/shared/names.py)', () => {
  it.each(['a', 'shop', 'my-shop-2', 'x'.repeat(32)])('accepts %s', (name) => {
    expect(projectNameError(name)).toBeNull();
  });
  it.each([
    ['', 'Enter a name.'],
    ['Shop', 'Use lowercase letters only.'],
    ['my_shop', 'Use only lowercase letters, digits and hyphens.'],
    ['-shop', 'Cannot start or end with a hyphen.'],
    ['shop-', 'Cannot start or end with a hyphen.'],
    ['my--shop', 'Cannot contain two hyphens in a row.'],
    ['x'.repeat(33), 'At most 32 characters.'],
    ['api', '"api" is reserved.'],
  ])('refuses %j', (name, message) => {
    expect(projectNameError(name)).toBe(message);
  });
});

describe('the new-project form', () => {
  const valid = { project_name: 'shop', repository_id: '7001', branch: '', install_command: 'npm ci',
    build_command: 'npm run build', output_directory: 'build' };
  it('can be sent when every field is valid', () => expect(projectFormErrors(valid)).toEqual({}));
  it('names every bad field', () => {
    const errors = projectFormErrors({ ...valid, repository_id: '', branch: '../main', output_directory: '/abs',
      build_command: 'a\nb' });
    expect(Object.keys(errors).sort()).toEqual(['branch', 'build_command', 'output_directory', 'repository_id']);
  });
});

describe('aliases', () => {
  it('splits, deduplicates and drops the project name', () => {
    expect(parseAliases('www2, shop  docs\ndocs', 'shop')).toEqual({ aliases: ['www2', 'docs'], error: null });
  });
  it('reports the first invalid alias', () => {
    expect(parseAliases('good, Bad', 'shop').error).toBe('Bad: Use lowercase letters only.');
  });
});

describe('environment variable names (mirroring environment.NAME_PATTERN)', () => {
  it.each(['A', '_x', 'API_URL', 'public_key2', 'X'.repeat(128)])('accepts %s', (name) => {
    expect(envNameError(name)).toBeNull();
  });
  it.each([
    ['', 'Enter a name.'],
    ['1PASSWORD', 'Cannot start with a digit.'],
    ['API-URL', 'Use only letters, digits and underscores.'],
    ['MY VAR', 'Use only letters, digits and underscores.'],
    ['CAFÉ', 'Use only letters, digits and underscores.'],
    ['X'.repeat(129), 'At most 128 characters.'],
  ])('refuses %j', (name, message) => {
    expect(envNameError(name)).toBe(message);
  });
  it('leaves reserved names to the API', () => expect(envNameError('AWS_REGION')).toBeNull());
});
