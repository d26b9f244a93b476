import assert from 'node:assert/strict';
import { test } from 'node:test';

import { load, viewerRequest } from './harness.mjs';

const ROUTES = {
  'a:shop': 'shop',
  'a:www-shop': 'shop', // a second alias of the same project
  'l:shop': 'dep-42',
  'a:draft': 'draft', // a project that never went live
};

async function run(request, routes = ROUTES) {
  const { handler } = load('cache-route', { routes });
  return handler(viewerRequest(request));
}

test('a hashed asset is read from the live deployment of the project', async () => {
  const out = await run({ host: 'shop.ship.example.com', uri: '/_app/immutable/entry/app.A1b2.js' });
  assert.equal(out.uri, '/shop/dep-42/_app/immutable/entry/app.A1b2.js');
});

test('an alias host reads the same project files', async () => {
  const out = await run({ host: 'www-shop.ship.example.com', uri: '/favicon.png' });
  assert.equal(out.uri, '/shop/dep-42/favicon.png');
});

test('the host is matched case-insensitively', async () => {
  const out = await run({ host: 'SHOP.Ship.Example.com', uri: '/robots.txt' });
  assert.equal(out.uri, '/shop/dep-42/robots.txt');
});

test('the query string is left as the viewer sent it', async () => {
  const querystring = { v: { value: '3' } };
  const out = await run({ host: 'shop.ship.example.com', uri: '/logo.svg', querystring });
  assert.deepEqual(out.querystring, { v: { value: '3' } });
  assert.equal(out.uri, '/shop/dep-42/logo.svg');
});

test('a new live deployment changes every path, so nothing cached is served stale', async () => {
  const out = await run({ host: 'shop.ship.example.com', uri: '/_app/version.json' }, { ...ROUTES, 'l:shop': 'dep-43' });
  assert.equal(out.uri, '/shop/dep-43/_app/version.json');
});

for (const [label, request] of [
  ['an unknown project', { host: 'nope.ship.example.com', uri: '/favicon.png' }],
  ['a project without a live deployment', { host: 'draft.ship.example.com', uri: '/favicon.png' }],
  ['a host of another domain', { host: 'shop.evil.example', uri: '/favicon.png' }],
  ['the bare domain', { host: 'ship.example.com', uri: '/favicon.png' }],
  ['a two-label alias (not covered by the wildcard certificate)', { host: 'a.shop.ship.example.com', uri: '/x.png' }],
  ['a request without a host', { uri: '/favicon.png' }],
]) {
  test(`${label} gets a 404 page, not a redirect`, async () => {
    const out = await run(request);
    assert.equal(out.statusCode, 404);
    assert.equal(out.uri, undefined);
    assert.match(out.headers['content-type'].value, /^text\/html/);
    assert.match(out.body.data, /https:\/\/ship\.example\.com\//);
  });
}

test('the 404 page does not echo the request', async () => {
  const out = await run({ host: '<script>x</script>.ship.example.com', uri: '/a.png' });
  assert.equal(out.statusCode, 404);
  assert.doesNotMatch(out.body.data, /script/);
});
