
// cache-route: viewer-request function of the S3 behaviours (/_app/*, root static files).
// Every deployment's files live under <project>/<deployment-id>/ in the project bucket, so the rewritten
// URI is both the object key and a cache key that never needs invalidating.
async function handler(event) {
  const request = event.request;
  const site = await resolveSite(request);
  if (site.error) return notFound(site.error);
  request.uri = '/' + site.project + '/' + site.deployment + request.uri;
  return request;
}
