import { describe, expect, it } from 'vitest';
import { ApiError, errorFromResponse, request } from './api.js';

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
