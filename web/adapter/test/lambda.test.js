import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { clientAddress, createHandler, fromEdge, isText, toRequest, toResult } from '../files/lambda.js';
import { bundle } from '../lib/bundle.js';
import { pagePath } from '../lib/pages.js';
import { zipSingleFile } from '../lib/zip.js';

const event = (extra = {}) => ({
  version: '2.0',
  rawPath: '/p',
  rawQueryString: 'a=1&a=2',
  headers: { host: 'api.example', 'x-forwarded-host': 'shop.example.com', 'x-forwarded-for': '6.6.6.6, 198.51.100.7' },
  requestContext: { domainName: 'api.example', http: { method: 'GET', sourceIp: '130.176.0.1' } },
  ...extra,
});

test('the URL is built from the forwarded host, else the Host header', () => {
  assert.equal(toRequest(event()).url, 'https://shop.example.com/p?a=1&a=2');
  const direct = event({ headers: { host: 'api.example' } });
  assert.equal(toRequest(direct).url, 'https://api.example/p?a=1&a=2');
});

// A function the CDN reaches straight through API Gateway (the dashboard) knows the origin secret; its
// public execute-api endpoint is open to anyone, with any headers.
async function withOriginSecret(secret, run) {
  const saved = process.env.BATTLESHIPER_ORIGIN_SECRET;
  process.env.BATTLESHIPER_ORIGIN_SECRET = secret;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env.BATTLESHIPER_ORIGIN_SECRET;
    else process.env.BATTLESHIPER_ORIGIN_SECRET = saved;
  }
}

class EchoServer {
  async init() {}
  async respond(request) {
    return Response.json({ url: request.url, forwarded: request.headers.get('x-forwarded-host'),
      secret: request.headers.get('x-battleshiper-origin-secret') });
  }
}

test('behind the origin secret the forwarded host is the site host, and the secret goes no further', async () => {
  await withOriginSecret('s3cr3t', async () => {
    const handler = createHandler(EchoServer, {});
    const viaCdn = event({ headers: { host: 'api.example', 'x-forwarded-host': 'ship.example.com',
      'x-battleshiper-origin-secret': 's3cr3t' } });
    const seen = JSON.parse((await handler(viaCdn, {})).body);
    assert.deepEqual(seen, { url: 'https://ship.example.com/p?a=1&a=2', forwarded: 'ship.example.com', secret: null });
  });
});

for (const [label, secret] of [['no origin secret', undefined], ['a wrong one', 'guess!'], ['a prefix', 's3cr3']]) {
  test(`a viewer's x-forwarded-host with ${label} never reaches the app`, async () => {
    await withOriginSecret('s3cr3t', async () => {
      const handler = createHandler(EchoServer, {});
      const headers = { host: 'api.example', 'x-forwarded-host': 'evil.example' };
      if (secret !== undefined) headers['x-battleshiper-origin-secret'] = secret;
      const seen = JSON.parse((await handler(event({ headers }), {})).body);
      assert.deepEqual(seen, { url: 'https://api.example/p?a=1&a=2', forwarded: null, secret: null });
    });
  });
}

test('a project function (no secret of its own: only the router invokes it) trusts the edge host', () => {
  assert.equal(fromEdge(new Headers({}), undefined), true);
  assert.equal(fromEdge(new Headers({}), 'x'), false);
  assert.equal(fromEdge(new Headers({ 'x-battleshiper-origin-secret': 'x' }), 'x'), true);
});

test('request cookies are joined into one cookie header', () => {
  const request = toRequest(event({ cookies: ['a=1', 'b=2'] }));
  assert.equal(request.headers.get('cookie'), 'a=1; b=2');
});

test('a base64 request body is decoded', async () => {
  const bytes = Buffer.from([0, 1, 2, 254, 255]);
  const request = toRequest(event({
    body: bytes.toString('base64'), isBase64Encoded: true,
    requestContext: { http: { method: 'POST' } },
  }));
  assert.deepEqual(Buffer.from(await request.arrayBuffer()), bytes);
});

test('the client is the right-most hop, not a viewer-supplied one', () => {
  assert.equal(clientAddress(event()), '198.51.100.7');
  // API Gateway's own append of its peer does not count.
  assert.equal(clientAddress(event({ headers: { 'x-forwarded-for': '198.51.100.7, 130.176.0.1' } })), '198.51.100.7');
  assert.equal(clientAddress(event({ headers: {} })), '130.176.0.1');
});

test('every Set-Cookie is returned separately and binary bodies as base64', async () => {
  const headers = new Headers({ 'content-type': 'application/pdf' });
  headers.append('set-cookie', 'a=1; Path=/');
  headers.append('set-cookie', 'b=2; Path=/; HttpOnly');
  const result = await toResult(new Response(new Uint8Array([37, 80, 68, 70, 0, 255]), { status: 201, headers }));
  assert.deepEqual(result.cookies, ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  assert.equal(result.headers['set-cookie'], undefined);
  assert.equal(result.isBase64Encoded, true);
  assert.deepEqual(Buffer.from(result.body, 'base64'), Buffer.from([37, 80, 68, 70, 0, 255]));
  assert.equal(result.statusCode, 201);
});

test('text types stay text', async () => {
  for (const type of ['text/html; charset=utf-8', 'application/json', 'image/svg+xml', 'application/ld+json']) {
    assert.ok(isText(type), type);
  }
  for (const type of ['image/png', 'application/octet-stream', 'font/woff2', undefined]) assert.ok(!isText(type), type);
  const result = await toResult(new Response('héllo', { headers: { 'content-type': 'text/plain' } }));
  assert.deepEqual([result.body, result.isBase64Encoded], ['héllo', false]);
});

test('a failing server gives a 500 with a string body, and init runs once', async () => {
  let inits = 0;
  class Server {
    async init() { inits++; }
    async respond() { throw new Error('boom'); }
  }
  const handler = createHandler(Server, {});
  const original = console.error;
  console.error = () => {};
  try {
    const result = await handler(event(), {});
    await handler(event(), {});
    assert.equal(result.statusCode, 500);
    assert.equal(typeof result.body, 'string');
    assert.equal(inits, 1);
  } finally {
    console.error = original;
  }
});

test('a failed init is retried by the next request', async () => {
  let attempts = 0;
  class Server {
    async init() { if (++attempts === 1) throw new Error('cold'); }
    async respond() { return new Response('ok', { headers: { 'content-type': 'text/plain' } }); }
  }
  const handler = createHandler(Server, {});
  const original = console.error;
  console.error = () => {};
  try {
    assert.equal((await handler(event(), {})).statusCode, 500);
    assert.equal((await handler(event(), {})).body, 'ok');
  } finally {
    console.error = original;
  }
});

test('page paths are the form the edge looks up', () => {
  assert.deepEqual(['/', '/about', '/about/', '/blog/index', '/a.html'].map(pagePath), ['/', '/about', '/about', '/blog', '/a']);
});

test('a server that does not build fails the build', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-adapter-'));
  writeFileSync(path.join(dir, 'entry.js'), "import { nothing } from './missing.js';\nexport const handler = nothing;\n");
  const log = { warn() {} };
  await assert.rejects(bundle({ entry: path.join(dir, 'entry.js'), outfile: path.join(dir, 'out.mjs'), log }));
});

test('the handler zip is byte-identical for the same input', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-adapter-'));
  writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = () => 1;\n');
  await zipSingleFile(path.join(dir, 'index.mjs'), 'index.mjs', path.join(dir, 'one.zip'));
  utimesSync(path.join(dir, 'index.mjs'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  await zipSingleFile(path.join(dir, 'index.mjs'), 'index.mjs', path.join(dir, 'two.zip'));
  assert.deepEqual(readFileSync(path.join(dir, 'one.zip')), readFileSync(path.join(dir, 'two.zip')));
});
