// The Lambda side of a SvelteKit app: API Gateway payload 2.0 event -> Request -> SvelteKit -> result.
// Bundled into the project's server function by the adapter; the pure conversions are exported for tests.
import { timingSafeEqual } from 'node:crypto';
import { loadVariables } from './config.js';

// Names shared with lambdas/shared/names.py (a test checks).
const ORIGIN_SECRET_HEADER = 'x-battleshiper-origin-secret';
const ORIGIN_SECRET_ENV = 'BATTLESHIPER_ORIGIN_SECRET';

const TEXT_TYPES = /^(text\/|application\/(json|javascript|ecmascript|xml|xhtml\+xml|x-www-form-urlencoded|ld\+json|manifest\+json)|image\/svg\+xml)|\+(json|xml)\b/i;

const INTERNAL_ERROR = {
  statusCode: 500,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  cookies: [],
  // Always a string: the router and API Gateway expect one (reference defect 84).
  body: 'Internal Error',
  isBase64Encoded: false,
};

/** The handler Lambda calls. The Server is created, and initialised, once per container. `envFile` is
 * where the deployment's sealed variables are (tests; by default beside the bundle). */
export function createHandler(Server, manifest, { envFile } = {}) {
  const server = new Server(manifest);
  let ready = null;
  const init = () => {
    // Started on the first request and kept; a failed init is retried by the next one (reference defect 87).
    // The variables go into process.env before init so $env/dynamic/* (and libraries) see them.
    ready ??= loadVariables(envFile)
      .then((variables) => {
        Object.assign(process.env, variables);
        return server.init({ env: process.env });
      })
      .catch((error) => {
        ready = null;
        throw error;
      });
    return ready;
  };

  return async function handler(event, context) {
    try {
      await init();
      const request = toRequest(event);
      const response = await server.respond(request, {
        platform: { event, context },
        getClientAddress: () => clientAddress(event),
      });
      return await toResult(response, request.method);
    } catch (error) {
      console.error(error);
      return { ...INTERNAL_ERROR, headers: { ...INTERNAL_ERROR.headers } };
    }
  };
}

/** A Fetch API Request for a payload 2.0 event. */
export function toRequest(event) {
  const method = event.requestContext?.http?.method ?? 'GET';
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && value !== null) headers.set(name, String(value));
  }
  // Payload 2.0 moves request cookies out of the headers (reference defect 78).
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  const forwardedHost = fromEdge(headers) ? headers.get('x-forwarded-host') : null;
  if (!forwardedHost) headers.delete('x-forwarded-host');
  headers.delete(ORIGIN_SECRET_HEADER); // the app never needs it

  const url = `${protocol(headers)}://${forwardedHost || host(event, headers)}${event.rawPath || '/'}` +
    (event.rawQueryString ? `?${event.rawQueryString}` : '');

  let body;
  if (method !== 'GET' && method !== 'HEAD' && event.body !== undefined && event.body !== null) {
    // API Gateway hands binary (and some form) bodies over base64-encoded (reference defect 82).
    body = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
  }
  return new Request(url, { method, headers, body });
}

// Whether the request's x-forwarded-host is the CDN's. A function API Gateway calls straight from the CDN
// (the dashboard) is given the origin secret: its public execute-api endpoint takes anyone's headers, so the
// forwarded host counts only behind the secret (reference defect 3). A project function has none: only the router invokes it,
// after checking the secret, and the edge sets x-forwarded-host after removing any viewer copy.
export function fromEdge(headers, secret = process.env[ORIGIN_SECRET_ENV]) {
  if (!secret) return true;
  const presented = Buffer.from(headers.get(ORIGIN_SECRET_HEADER) ?? '');
  const expected = Buffer.from(secret);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

// The site host without a trusted forwarded host: the Host header (a direct invocation). Never the Origin
// header: SvelteKit's CSRF check compares against the URL (reference defects 80, 81).
function host(event, headers) {
  return headers.get('host') || event.requestContext?.domainName || 'localhost';
}

function protocol(headers) {
  const proto = (headers.get('x-forwarded-proto') ?? '').split(',')[0].trim().toLowerCase();
  return proto === 'http' ? 'http' : 'https';
}

/** The client's address: the right-most X-Forwarded-For hop, i.e. the one the edge added, not a
 * viewer-supplied entry (reference defect 24). A hop equal to the immediate peer (API Gateway's own
 * append) is skipped. */
export function clientAddress(event) {
  const peer = event.requestContext?.http?.sourceIp;
  const forwarded = event.headers?.['x-forwarded-for'];
  if (forwarded) {
    const hops = String(forwarded).split(',').map((h) => h.trim()).filter(Boolean);
    if (hops.length > 1 && hops[hops.length - 1] === peer) hops.pop();
    if (hops.length) return hops[hops.length - 1];
  }
  return peer ?? '';
}

export function isText(contentType) {
  return TEXT_TYPES.test(contentType ?? '');
}

/** A payload 2.0 result for a Response: every Set-Cookie in `cookies`, binary bodies base64-encoded. */
export async function toResult(response, method = 'GET') {
  const headers = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  // Each cookie separately: a header map would keep one (reference defect 79).
  const cookies = response.headers.getSetCookie();

  const contentType = response.headers.get('content-type');
  const encoded = response.headers.get('content-encoding');
  let body = '';
  let isBase64Encoded = false;
  if (method !== 'HEAD' && response.body) {
    if (isText(contentType) && !encoded) {
      body = await response.text();
    } else {
      // Images, fonts, PDFs, compressed bodies: as bytes (reference defect 83).
      const bytes = Buffer.from(await response.arrayBuffer());
      if (bytes.length) {
        body = bytes.toString('base64');
        isBase64Encoded = true;
      }
    }
  }
  return { statusCode: response.status, headers, cookies, body, isBase64Encoded };
}
