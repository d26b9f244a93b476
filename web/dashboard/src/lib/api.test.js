import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, errorFromResponse, request } from './api.js';

const answer = (status, body) => async () => new Response(body, { status });

describe('API errors become readable messages', () => {
  it("uses the API's own message", () => {
    const error = errorFromResponse(409, JSON.stringify({ error: { code: 'name_taken', message: 'name is taken' } }));
    expect([error.status, error.code, error.message]).toEqual([409, 'name_taken', 'Name is taken']);
  });
  it('falls back to a message by status for non-JSON and oversized bodies', () => {
    expect(errorFromResponse(502, '<html>Bad gateway</html>').message).toMatch(/GitHub could not be reached/);
    expect(errorFromResponse(500, JSON.stringify({ error: { code: 'x', message: 'y'.repeat(400) } })).message)
      .toMatch(/Something went wrong/);
    expect(errorFromResponse(418, '').message).toBe('The request was not accepted.');
  });
  it('marks a 401 as signed out', () => {
    expect(errorFromResponse(401, '').signedOut).toBe(true);
  });
});

describe('request', () => {
  it('sends JSON with the query and returns the parsed answer', async () => {
    let seen;
    const fetch = async (url, init) => { seen = { url, init }; return new Response('{"ok":1}', { status: 200 }); };
    const result = await request('POST', '/api/x', { body: { a: 1 }, query: { q: 'v', empty: '' }, fetch });
    expect(result).toEqual({ ok: 1 });
    expect(seen.url).toBe('/api/x?q=v');
    expect(seen.init.body).toBe('{"a":1}');
    expect(seen.init.headers['content-type']).toBe('application/json');
  });
  it('throws an ApiError for an error answer', async () => {
    const fetch = answer(403, '{"error":{"code":"forbidden","message":"missing permission READ_USER"}}');
    await expect(request('GET', '/api/admin/finduser', { fetch })).rejects.toMatchObject({
      status: 403, code: 'forbidden', message: 'Missing permission READ_USER' });
  });
  it('turns a network failure into a readable error', async () => {
    const fetch = async () => { throw new TypeError('Failed to fetch'); };
    const error = await request('GET', '/api/x', { fetch }).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code]).toEqual([0, 'network']);
  });
});

describe('environment variables', () => {
  /** Answers every request with `body`; returns what was sent. */
  function stub(status = 200, body = '{"message":"environment","variables":[]}') {
    const sent = [];
    vi.stubGlobal('fetch', async (url, init) => {
      sent.push({ url, method: init.method, body: init.body });
      return new Response(body, { status });
    });
    return sent;
  }
  afterEach(() => vi.unstubAllGlobals());

  it('reads a project\'s environment', async () => {
    const sent = stub();
    expect(await api.getEnv('shop')).toEqual({ message: 'environment', variables: [] });
    expect(sent).toEqual([{ url: '/api/resource/env?project_name=shop', method: 'GET', body: undefined }]);
  });
  it('sets variables', async () => {
    const sent = stub();
    const variables = [{ name: 'TOKEN', value: 's3cr3t', kind: 'secret', applies: 'runtime', target: 'production' }];
    await api.setEnv('shop', variables);
    expect(sent[0].method).toBe('PUT');
    expect(sent[0].url).toBe('/api/resource/env');
    expect(JSON.parse(sent[0].body)).toEqual({ project_name: 'shop', variables });
  });
  it('removes variables, of both targets unless told', async () => {
    const sent = stub();
    await api.unsetEnv('shop', ['A']);
    await api.unsetEnv('shop', ['B'], 'preview');
    expect(sent.map((s) => [s.method, JSON.parse(s.body)])).toEqual([
      ['DELETE', { project_name: 'shop', names: ['A'], target: 'both' }],
      ['DELETE', { project_name: 'shop', names: ['B'], target: 'preview' }],
    ]);
  });
  it("passes the API's refusal on", async () => {
    stub(400, '{"error":{"code":"reserved_name","message":"AWS_REGION is reserved by AWS Lambda"}}');
    await expect(api.setEnv('shop', [{ name: 'AWS_REGION', value: 'x' }])).rejects.toMatchObject({
      status: 400, code: 'reserved_name', message: 'AWS_REGION is reserved by AWS Lambda' });
  });
  it('rebuilds a given commit, or the branch without one', async () => {
    const sent = stub(202, '{"message":"build started"}');
    await api.buildProject('shop', 'abcdef1');
    await api.buildProject('shop');
    expect(sent.map((s) => JSON.parse(s.body))).toEqual([
      { project_name: 'shop', commit: 'abcdef1' }, { project_name: 'shop' }]);
  });
});
