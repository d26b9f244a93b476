// Runs the project-edge CloudFront Functions under Node the way CloudFront would: the same sources,
// joined and substituted like templates/cloudfront_functions.py does (tests/edge/test_js.py compares the
// two renders), with a `cloudfront` module stand-in whose key-value store is a Map.
import { readFileSync } from 'node:fs';

const TEMPLATES = new URL('../../templates/', import.meta.url);
const PRELUDE = 'edge_prelude.js';
const FILES = { 'cache-route': 'cache_route.js', 'server-route': 'server_route.js' };
const IMPORT = "import cf from 'cloudfront';\n";

export const KVS_ID = 'a1b2c3d4-0000-4000-8000-0123456789ab';
export const DOMAIN = 'ship.example.com';

// Fn::Sub: `${Name}` takes the value, `${!Name}` is a literal `${Name}`.
export function render(name, vars) {
  const code = readFileSync(new URL(PRELUDE, TEMPLATES), 'utf8') + readFileSync(new URL(FILES[name], TEMPLATES), 'utf8');
  return code.replace(/\$\{(!?)([^}]*)\}/g, (all, bang, key) => {
    if (bang) return '${' + key + '}';
    if (!(key in vars)) throw new Error(name + ': no value for ' + key);
    return vars[key];
  });
}

// Returns {handler, store, origins}: `store` is the route store, `origins` the ids the function selected.
export function load(name, { routes = {}, withOriginSelection = true } = {}) {
  const code = render(name, { KvsId: KVS_ID, Domain: DOMAIN });
  if (!code.startsWith(IMPORT)) throw new Error(name + ': must start with ' + IMPORT.trim());
  const store = new Map(Object.entries(routes));
  const origins = [];
  const cf = {
    kvs(id) {
      if (id !== KVS_ID) throw new Error('unknown key value store ' + id);
      return {
        async get(key) {
          if (!store.has(key)) throw new Error('Key ' + key + ' not found');
          return store.get(key);
        },
      };
    },
  };
  if (withOriginSelection) cf.selectRequestOriginById = (id) => origins.push(id);
  const handler = new Function('cf', '"use strict";\n' + code.slice(IMPORT.length) + '\nreturn handler;')(cf);
  return { handler, store, origins };
}

// A viewer-request event as CloudFront builds it (header names lower-case).
export function viewerRequest({ host, uri = '/', method = 'GET', headers = {}, querystring = {} }) {
  const all = { ...headers };
  if (host !== undefined) all.host = host;
  const hdrs = {};
  for (const [k, v] of Object.entries(all)) hdrs[k] = { value: v };
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.1' },
    request: { method, uri, querystring, headers: hdrs, cookies: {} },
  };
}
