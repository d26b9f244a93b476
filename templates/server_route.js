
// server-route: viewer-request function of the default behaviour (every path but /_app/immutable/*).
// What the deployment contains decides, not the file extension: a path the deploy wrote a route key for is
// a file (or prerendered page) read straight from the bucket; anything else goes to the router, so
// `/u/john.doe` reaches the app and `/data.json` comes from S3 (reference defect 58).
const PROJECT_HEADER = 'x-battleshiper-project';
const DEPLOYMENT_HEADER = 'x-battleshiper-deployment';
const PAGE_HEADER = 'x-battleshiper-page';
const FORWARDED_HOST_HEADER = 'x-forwarded-host';
const ORIGIN_SECRET_HEADER = 'x-battleshiper-origin-secret';
const STATIC_ORIGIN = 'project-bucket';
const DATA_SUFFIX = '/__data.json';

// The router trusts these only from the edge (behind the origin secret), so a viewer's copies never pass.
// (x-forwarded-proto is not ours to touch: CloudFront hides it from functions; the router sets it.)
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

// The URI as the file is named (route keys hold decoded paths), or null: a malformed escape, or an
// escaped `/` (`%2F` names no file; the app may give it a meaning).
function decodePath(uri) {
  const parts = uri.split('/');
  try {
    for (let i = 0; i < parts.length; i++) {
      parts[i] = decodeURIComponent(parts[i]);
      if (parts[i].indexOf('/') !== -1) return null;
    }
  } catch (e) {
    return null;
  }
  return parts.join('/');
}

// The object path as a URI: each segment percent-encoded (UTF-8), so S3 finds a key with any characters;
// also !'()* (RFC 3986 reserves them; encodeURIComponent leaves them), as the request is signed for S3.
function encodeSegment(segment) {
  return encodeURIComponent(segment).replace(/[!'()*]/g, function (c) {
    return '%' + c.charCodeAt(0).toString(16).toUpperCase();
  });
}

function encodePath(path) {
  return path.split('/').map(encodeSegment).join('/');
}

// The object path for a decoded request path, or null: the exact path (files), else its page form
// (prerendered pages); a prerendered page's data file sits next to the page's own key.
async function objectPath(base, path) {
  const exact = await lookup(base + path);
  if (exact) return exact;
  const data = path.endsWith(DATA_SUFFIX);
  const page = pagePath(data ? path.slice(0, -DATA_SUFFIX.length) : path);
  if (page === path) return null;
  const found = await lookup(base + page);
  if (!found) return null;
  return data ? (page === '/' ? '' : page) + DATA_SUFFIX : found;
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

  // Files are only read; a POST to a page path goes to the server (form actions).
  if (request.method !== 'GET' && request.method !== 'HEAD') return request;
  const path = decodePath(request.uri);
  if (path === null) return request;
  const prefix = '/' + site.project + '/' + site.deployment;
  const object = await objectPath(PAGE_KEY + site.project + '/' + site.deployment, path);
  if (!object) return request;
  request.uri = prefix + encodePath(object);
  // S3 reads its own meaning into a query (`response-content-type` overrides the stored type on a signed
  // request, as ours are); a file never depends on it. The viewer's URL keeps it for the page's scripts.
  request.querystring = {};
  headers[PAGE_HEADER] = { value: '1' };
  // Straight to the bucket, no API Gateway + Lambda hop (reference defect 62). The router still serves
  // marked requests from S3 for an edge without origin selection.
  if (typeof cf.selectRequestOriginById === 'function') cf.selectRequestOriginById(STATIC_ORIGIN);
  return request;
}
