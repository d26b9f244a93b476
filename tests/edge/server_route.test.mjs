import assert from 'node:assert/strict';
import { test } from 'node:test';

import { load, viewerRequest } from './harness.mjs';

const HOST = 'shop.ship.example.com';
const ROUTES = {
  'a:shop': 'shop',
  'a:www-shop': 'shop',
  'l:shop': 'dep-42',
  'a:draft': 'draft',
  'p:shop/dep-42/': '/index.html',
  'p:shop/dep-42/about': '/about.html',
  'p:shop/dep-42/blog': '/blog/index.html',
  'p:shop/dep-41/old': '/old.html', // a page of an earlier deployment only
  // Static files and other prerendered files: the exact (decoded) path is the key.
  'p:shop/dep-42/data.json': '/data.json',
  'p:shop/dep-42/ads.txt': '/ads.txt',
  'p:shop/dep-42/favicon.png': '/favicon.png',
  'p:shop/dep-42/_app/version.json': '/_app/version.json',
  'p:shop/dep-42/sitemap.xml': '/sitemap.xml',
  'p:shop/dep-42/posts/__data.json': '/posts/__data.json',
  'p:shop/dep-42/my file+1.txt': '/my file+1.txt',
  'p:shop/dep-42/a/b.txt': '/a/b.txt',
  "p:shop/dep-42/logo (1)!'*.png": "/logo (1)!'*.png",
  // Non-ASCII names: the keys hold the path as the file is named.
  'p:shop/dep-42/caf\u00e9': '/caf\u00e9.html',
  'p:shop/dep-42/\u65e5\u672c/\u8a9e.json': '/\u65e5\u672c/\u8a9e.json',
};

async function run(request, options = {}) {
  const edge = load('server-route', { routes: ROUTES, ...options });
  const out = await edge.handler(viewerRequest({ host: HOST, ...request }));
  return { out, origins: edge.origins };
}

const header = (out, name) => (out.headers[name] ? out.headers[name].value : undefined);

test('a server route goes to the router with the project, deployment and host', async () => {
  const { out, origins } = await run({ uri: '/cart', method: 'POST' });
  assert.equal(out.uri, '/cart');
  assert.equal(header(out, 'x-battleshiper-project'), 'shop');
  assert.equal(header(out, 'x-battleshiper-deployment'), 'dep-42');
  assert.equal(header(out, 'x-forwarded-host'), HOST);
  assert.equal(header(out, 'x-battleshiper-page'), undefined);
  assert.deepEqual(origins, []);
});

test('an alias host resolves to its project and keeps its own host for the app', async () => {
  const { out } = await run({ host: 'www-shop.ship.example.com', uri: '/cart' });
  assert.equal(header(out, 'x-battleshiper-project'), 'shop');
  assert.equal(header(out, 'x-forwarded-host'), 'www-shop.ship.example.com');
});

test('values a client sent for the edge headers are replaced or dropped', async () => {
  const forged = {
    'x-battleshiper-project': 'victim',
    'x-battleshiper-deployment': 'dep-1',
    'x-forwarded-host': 'victim.ship.example.com',
    'x-battleshiper-page': '1',
    'x-battleshiper-origin-secret': 'guess',
  };
  const { out } = await run({ uri: '/cart', headers: forged });
  assert.equal(header(out, 'x-battleshiper-project'), 'shop');
  assert.equal(header(out, 'x-battleshiper-deployment'), 'dep-42');
  assert.equal(header(out, 'x-forwarded-host'), HOST);
  assert.equal(header(out, 'x-battleshiper-page'), undefined);
  assert.equal(header(out, 'x-battleshiper-origin-secret'), undefined);
});

for (const [uri, object] of [
  ['/', '/index.html'],
  ['/index', '/index.html'],
  ['/index.html', '/index.html'],
  ['/about', '/about.html'],
  ['/about.html', '/about.html'],
  ['/about/', '/about.html'],
  ['/blog', '/blog/index.html'],
  ['/blog/', '/blog/index.html'],
  ['/blog/index', '/blog/index.html'],
  ['/blog/index.html', '/blog/index.html'],
]) {
  test(`${uri} is the prerendered page ${object}, read straight from the bucket`, async () => {
    const { out, origins } = await run({ uri });
    assert.equal(out.uri, '/shop/dep-42' + object);
    assert.equal(header(out, 'x-battleshiper-page'), '1');
    assert.equal(header(out, 'x-battleshiper-project'), 'shop');
    assert.deepEqual(origins, ['project-bucket']);
  });
}

test('a HEAD of a page is served like a GET', async () => {
  const { out } = await run({ uri: '/about', method: 'HEAD' });
  assert.equal(out.uri, '/shop/dep-42/about.html');
});

test('without origin selection the page is marked for the router to read from S3', async () => {
  const { out, origins } = await run({ uri: '/about' }, { withOriginSelection: false });
  assert.equal(out.uri, '/shop/dep-42/about.html');
  assert.equal(header(out, 'x-battleshiper-page'), '1');
  assert.deepEqual(origins, []);
});

test('a form post to a page path goes to the server unchanged', async () => {
  const { out, origins } = await run({ uri: '/about', method: 'POST', querystring: { '/login': { value: '' } } });
  assert.equal(out.uri, '/about');
  assert.equal(header(out, 'x-battleshiper-page'), undefined);
  assert.deepEqual(out.querystring, { '/login': { value: '' } });
  assert.deepEqual(origins, []);
});

test('only pages of the live deployment count', async () => {
  const { out } = await run({ uri: '/old' });
  assert.equal(out.uri, '/old');
  assert.equal(header(out, 'x-battleshiper-page'), undefined);
});

test('a data request goes to the server for the live deployment', async () => {
  const { out, origins } = await run({ uri: '/cart/__data.json', querystring: { 'x-sveltekit-invalidated': { value: '01' } } });
  assert.equal(out.uri, '/cart/__data.json');
  assert.equal(header(out, 'x-battleshiper-deployment'), 'dep-42');
  assert.deepEqual(out.querystring, { 'x-sveltekit-invalidated': { value: '01' } });
  assert.deepEqual(origins, []);
});

// The server does not know fully prerendered routes; their data was prerendered next to the client files.
for (const [uri, object] of [
  ['/blog/__data.json', '/blog/__data.json'],
  ['/about/__data.json', '/about/__data.json'],
  ['/__data.json', '/__data.json'],
]) {
  test(`the data request ${uri} of a prerendered page is its prerendered file`, async () => {
    const { out, origins } = await run({ uri, querystring: { 'x-sveltekit-invalidated': { value: '01' } } });
    assert.equal(out.uri, '/shop/dep-42' + object);
    assert.equal(header(out, 'x-battleshiper-page'), '1');
    assert.deepEqual(origins, ['project-bucket']);
  });
}

test('the query string of a file request does not reach the bucket', async () => {
  const querystring = {
    ref: { value: 'mail', multiValue: [{ value: 'mail' }, { value: 'x' }] },
    'response-content-type': { value: 'text/html' }, // S3 would serve /data.json as HTML
  };
  for (const uri of ['/about', '/data.json', '/posts/__data.json']) {
    const { out, origins } = await run({ uri, querystring });
    assert.deepEqual(out.querystring, {}, uri);
    assert.deepEqual(origins, ['project-bucket']);
  }
});

test('the query string of a server request is left as the viewer sent it', async () => {
  const querystring = { ref: { value: 'mail', multiValue: [{ value: 'mail' }, { value: 'x' }] } };
  const { out } = await run({ uri: '/u/john.doe', querystring });
  assert.deepEqual(out.querystring, querystring);
});

for (const [label, host] of [
  ['an unknown project', 'nope.ship.example.com'],
  ['a project without a live deployment', 'draft.ship.example.com'],
  ['a host of another domain', 'shop.example.org'],
]) {
  test(`${label} gets a 404 page`, async () => {
    const { out } = await run({ host, uri: '/about' });
    assert.equal(out.statusCode, 404);
    assert.equal(out.body.encoding, 'text');
    assert.match(out.body.data, /<a href="https:\/\/ship\.example\.com\/">/);
  });
}

for (const [uri, object] of [
  ['/data.json', '/data.json'],
  ['/ads.txt', '/ads.txt'],
  ['/favicon.png', '/favicon.png'],
  ['/_app/version.json', '/_app/version.json'],
  ['/sitemap.xml', '/sitemap.xml'],
  ['/posts/__data.json', '/posts/__data.json'],
]) {
  test(`the deployment's file ${uri} is read straight from the bucket`, async () => {
    const { out, origins } = await run({ uri });
    assert.equal(out.uri, '/shop/dep-42' + object);
    assert.deepEqual(origins, ['project-bucket']);
  });
}

// No route key: whatever the extension, the app answers (reference defect 58).
for (const uri of ['/u/john.doe', '/v1.2/x', '/og.png', '/api/items.json', '/_app/env.js', '/data.json/x']) {
  test(`${uri} is not a file of the deployment, so it reaches the server`, async () => {
    const { out, origins } = await run({ uri });
    assert.equal(out.uri, uri);
    assert.equal(header(out, 'x-battleshiper-page'), undefined);
    assert.equal(header(out, 'x-battleshiper-deployment'), 'dep-42');
    assert.deepEqual(origins, []);
  });
}

test('a POST to a file path goes to the server', async () => {
  const { out, origins } = await run({ uri: '/data.json', method: 'POST' });
  assert.equal(out.uri, '/data.json');
  assert.deepEqual(origins, []);
});

// Viewers send percent-encoded UTF-8; keys are decoded; the bucket is asked for the encoded object path.
for (const [uri, object] of [
  ['/caf%C3%A9', '/caf%C3%A9.html'],
  ['/caf%c3%a9', '/caf%C3%A9.html'],
  ['/caf%C3%A9.html', '/caf%C3%A9.html'],
  ['/caf%C3%A9/', '/caf%C3%A9.html'],
  ['/caf%C3%A9/__data.json', '/caf%C3%A9/__data.json'],
  ['/%E6%97%A5%E6%9C%AC/%E8%AA%9E.json', '/%E6%97%A5%E6%9C%AC/%E8%AA%9E.json'],
  ['/my%20file+1.txt', '/my%20file%2B1.txt'],
  ['/my%20file%2B1.txt', '/my%20file%2B1.txt'],
  ['/d%61ta.json', '/data.json'],
  ["/logo%20(1)!'*.png", '/logo%20%281%29%21%27%2A.png'],
  ['/logo%20%281%29%21%27%2A.png', '/logo%20%281%29%21%27%2A.png'],
]) {
  test(`the encoded path ${uri} finds its file as ${object}`, async () => {
    const { out, origins } = await run({ uri });
    assert.equal(out.uri, '/shop/dep-42' + object);
    assert.deepEqual(origins, ['project-bucket']);
  });
}

for (const [label, uri] of [
  ['a malformed escape', '/caf%C3'],
  ['a stray percent sign', '/100%'],
  ['an invalid UTF-8 sequence', '/%FF.json'],
  ['an escaped slash', '/a%2Fb.txt'],
]) {
  test(`${label} (${uri}) goes to the server as sent`, async () => {
    const { out, origins } = await run({ uri });
    assert.equal(out.uri, uri);
    assert.equal(header(out, 'x-battleshiper-page'), undefined);
    assert.deepEqual(origins, []);
  });
}
