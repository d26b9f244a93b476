// A long-lived stand-in for a Node.js Lambda runtime: `node node_worker.mjs <handler module> <name>`.
// Reads one JSON line per invocation on stdin, {"id": n, "event": {...}}, calls the module's `handler`
// and writes one JSON line on stdout, {"id": n, "result": ...} or {"id": n, "error": {"type", "message"}}.
// The app's own console output goes to stderr so it can never corrupt the protocol.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [modulePath, functionName = 'function'] = process.argv.slice(2);
const out = process.stdout;
for (const level of ['log', 'info', 'debug', 'warn']) console[level] = console.error;

const send = (message) => new Promise((resolve) => out.write(JSON.stringify(message) + '\n', resolve));

let handler;
try {
  ({ handler } = await import(pathToFileURL(modulePath).href));
  if (typeof handler !== 'function') throw new Error(`${modulePath} exports no handler function`);
} catch (error) {
  // Every invocation then fails the way Lambda reports an init error.
  handler = () => {
    throw Object.assign(new Error(String(error && error.message)), { name: 'Runtime.ImportModuleError' });
  };
}

let counter = 0;
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { id, event } = JSON.parse(line);
  const started = Date.now();
  const context = {
    functionName,
    awsRequestId: `local-${process.pid}-${++counter}`,
    getRemainingTimeInMillis: () => Math.max(0, 30000 - (Date.now() - started)),
  };
  try {
    const result = await handler(event, context);
    await send({ id, result: result === undefined ? null : result });
  } catch (error) {
    await send({ id, error: { type: (error && error.name) || 'Error', message: String(error && error.message) } });
  }
}
