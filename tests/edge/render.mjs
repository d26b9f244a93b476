// `node tests/edge/render.mjs <function> <kvs-id> <domain>` prints the harness's render, which
// tests/edge/test_js.py compares with the Python loader's.
import { render } from './harness.mjs';

const [name, kvsId, domain] = process.argv.slice(2);
process.stdout.write(render(name, { KvsId: kvsId, Domain: domain }));
