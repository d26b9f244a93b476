import cf from 'cloudfront';

// Shared start of both project-edge functions: the loader (templates/cloudfront_functions.py) puts this
// file in front of each one, because CloudFront Functions cannot import code of their own.
// The route-store id and the domain are filled in by CloudFormation (Fn::Sub), so a literal dollar-brace
// pair would have to be written with a bang after the brace.

const routes = cf.kvs('${KvsId}');
const HOST_SUFFIX = '.${Domain}';

// Route-store key prefixes and edge headers: the same strings as lambdas/shared/names.py (a test checks).
const ALIAS_KEY = 'a:';
const LIVE_KEY = 'l:';
const PAGE_KEY = 'p:';

// A missing key throws; so may a store hiccup. Either way there is no route.
async function lookup(key) {
  try {
    return await routes.get(key);
  } catch (e) {
    return null;
  }
}

// host -> alias -> project -> live deployment. Returns {host, project, deployment} or {error}.
async function resolveSite(request) {
  const header = request.headers.host;
  const host = header ? header.value.toLowerCase() : '';
  if (!host.endsWith(HOST_SUFFIX)) return { error: 'This address does not belong to this platform.' };
  const alias = host.slice(0, host.length - HOST_SUFFIX.length);
  // One label only: that is all the wildcard certificate covers.
  if (alias === '' || alias.indexOf('.') !== -1) return { error: 'There is no project at this address.' };
  const project = await lookup(ALIAS_KEY + alias);
  if (!project) return { error: 'There is no project at this address.' };
  const deployment = await lookup(LIVE_KEY + project);
  if (!deployment) return { error: 'This project has no live deployment yet.' };
  return { host: host, project: project, deployment: deployment };
}

// A real 404 rather than a redirect to the dashboard (reference defect 60): asset and API clients see the
// status, people see a short page. Messages are fixed strings, never request data.
function notFound(message) {
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: {
      'content-type': { value: 'text/html; charset=utf-8' },
      'cache-control': { value: 'no-store' },
    },
    body: {
      encoding: 'text',
      data: '<!doctype html><meta charset="utf-8"><title>Not found</title><h1>Not found</h1><p>' + message +
        '</p><p><a href="https://${Domain}/">Go to the dashboard</a></p>',
    },
  };
}
