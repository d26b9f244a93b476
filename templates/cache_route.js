
// cache-route: viewer-request function of the one S3 behaviour, /_app/immutable/* (SvelteKit's hashed
// assets: always files of the deployment, so no route-store lookup beyond the live deployment).
// Every deployment's files live under <project>/<deployment-id>/ in the project bucket, so the rewritten
// URI is both the object key and a cache key that never needs invalidating.
async function handler(event) {
  const request = event.request;
  const site = await resolveSite(request);
  if (site.error) return notFound(site.error);
  request.uri = '/' + site.project + '/' + site.deployment + request.uri;
  return request;
}
