// Runs the real project-edge CloudFront Functions (through tests/edge/harness.mjs) for the Python
// end-to-end tests: `node edge_worker.mjs <routes.json>`, then one JSON line per viewer request,
// {"function", "request", "originSelection"}, answered by one line {"out", "origins"}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { load, viewerRequest } from '../edge/harness.mjs';

const routes = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const edges = {};
for (const name of ['cache-route', 'server-route']) {
  for (const withOriginSelection of [true, false]) {
    edges[`${name}:${withOriginSelection}`] = load(name, { routes, withOriginSelection });
  }
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  const { function: name, request, originSelection } = JSON.parse(line);
  const edge = edges[`${name}:${originSelection}`];
  edge.origins.length = 0;
  const out = await edge.handler(viewerRequest(request));
  process.stdout.write(JSON.stringify({ out, origins: [...edge.origins] }) + '\n');
}
