
// server-route: viewer-request function of the router behaviours (default, */__data.json, /_app/env.js).
const PROJECT_HEADER = 'x-battleshiper-project';
const DEPLOYMENT_HEADER = 'x-battleshiper-deployment';
const PAGE_HEADER = 'x-battleshiper-page';
const FORWARDED_HOST_HEADER = 'x-forwarded-host';
const ORIGIN_SECRET_HEADER = 'x-battleshiper-origin-secret';
const STATIC_ORIGIN = 'project-bucket';
const DATA_SUFFIX = '/__data.json';

// The router trusts these only from the edge (behind the origin secret), so a viewer's copies never pass.
const EDGE_HEADERS = [PROJECT_HEADER, DEPLOYMENT_HEADER, PAGE_HEADER, FORWARDED_HOST_HEADER, ORIGIN_SECRET_HEADER];

// The page a path names: `/about`, `/about/`, `/about.html`, `/about/index`, `/about/index.html` are all
// `/about`; `/`, `/index` and `/index.html` are `/`. Route-store page keys use this form.
function pagePath(uri) {
  let path = uri;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path.endsWith('.html')) path = path.slice(0, -5);
  if (path === '/index' || path.endsWith('/index')) path = path.slice(0, -6);
  return path === '' ? '/' : path;
}

async function handler(event) {
  const request = event.request;
  const headers = request.headers;
  for (let i = 0; i < EDGE_HEADERS.length; i++) delete headers[EDGE_HEADERS[i]];

  const site = await resolveSite(request);
  if (site.error) return notFound(site.error);
  headers[PROJECT_HEADER] = { value: site.project };
  headers[DEPLOYMENT_HEADER] = { value: site.deployment };
  headers[FORWARDED_HOST_HEADER] = { value: site.host };

  // Prerendered pages are plain objects; only reads are served from them (a POST goes to the server).
  if (request.method !== 'GET' && request.method !== 'HEAD') return request;
  // A prerendered page's data (client-side navigation) is a static file too: the server does not know
  // fully prerendered routes, and the adapter ships `<page>/__data.json` with the client files.
  const data = request.uri.endsWith(DATA_SUFFIX);
  const path = pagePath(data ? request.uri.slice(0, -DATA_SUFFIX.length) : request.uri);
  const page = await lookup(PAGE_KEY + site.project + '/' + site.deployment + path);
  if (!page) return request;
  request.uri = '/' + site.project + '/' + site.deployment + (data ? (path === '/' ? '' : path) + DATA_SUFFIX : page);
  headers[PAGE_HEADER] = { value: '1' };
  // Straight to the bucket, no API Gateway + Lambda hop (reference defect 62). The router still serves
  // marked requests from S3 for an edge without origin selection (the local platform).
  if (typeof cf.selectRequestOriginById === 'function') cf.selectRequestOriginById(STATIC_ORIGIN);
  return request;
}
