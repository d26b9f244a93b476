// The local edge's CloudFront Functions runtime: `node edge_worker.mjs`. The first stdin line is
// {"functions": {name: code}, "kvsId": id, "routes": {...}}: the code exactly as CloudFront receives it
// (templates/cloudfront_functions.render) and the route store's content. Then, one per line, either
// {"sync": {"puts": {...}, "deletes": [...]}} (a route-store write; no answer) or
// {"id", "function", "event"} (a viewer-request event), answered by {"id", "out", "origins"}.
import { createInterface } from 'node:readline';

const IMPORT = "import cf from 'cloudfront';\n";
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = (message) => process.stdout.write(JSON.stringify(message) + '\n');
for (const level of ['log', 'info', 'debug', 'warn']) console[level] = console.error;

let store;
const functions = {};
let origins = [];

function load(code, kvsId) {
  if (!code.startsWith(IMPORT)) throw new Error('a function must start with ' + IMPORT.trim());
  const cf = {
    kvs(id) {
      if (id !== kvsId) throw new Error('unknown key value store ' + id);
      return {
        async get(key) {
          if (!store.has(key)) throw new Error('Key ' + key + ' not found');
          return store.get(key);
        },
      };
    },
    selectRequestOriginById(id) { origins.push(id); },
  };
  return new Function('cf', '"use strict";\n' + code.slice(IMPORT.length) + '\nreturn handler;')(cf);
}

for await (const line of lines) {
  if (!line.trim()) continue;
  const message = JSON.parse(line);
  if (message.functions) {
    store = new Map(Object.entries(message.routes || {}));
    for (const [name, code] of Object.entries(message.functions)) functions[name] = load(code, message.kvsId);
  } else if (message.sync) {
    for (const [k, v] of Object.entries(message.sync.puts || {})) store.set(k, v);
    for (const k of message.sync.deletes || []) store.delete(k);
  } else {
    origins = [];
    try {
      const result = await functions[message.function](message.event);
      out({ id: message.id, out: result, origins });
    } catch (error) {
      out({ id: message.id, error: String(error && error.stack || error) });
    }
  }
}
