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

test('the query string of a page request is preserved', async () => {
  const querystring = { ref: { value: 'mail', multiValue: [{ value: 'mail' }, { value: 'x' }] } };
  const { out } = await run({ uri: '/about', querystring });
  assert.equal(out.uri, '/shop/dep-42/about.html');
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
