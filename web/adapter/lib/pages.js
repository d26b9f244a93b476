// The request path a prerendered page answers, in the form the edge looks up (templates/server_route.js
// `pagePath`): no trailing slash, no `.html`, no `/index`; the root is `/`.
export function pagePath(route) {
  let p = route;
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (p.endsWith('.html')) p = p.slice(0, -5);
  if (p === '/index' || p.endsWith('/index')) p = p.slice(0, -6);
  return p === '' ? '/' : p;
}
