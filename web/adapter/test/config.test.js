// The deployment's sealed variables: read at init, the data key from a local server playing KMS.
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ENV_FILE } from '../files/config.js';
import { createHandler } from '../files/lambda.js';
import { bundle } from '../lib/bundle.js';

const PROJECT = 'shop';
const KEY_ID = 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SECRET = 'sk_live_very-secret-value';
const SIGV4 = new RegExp('^AWS4-HMAC-SHA256 Credential=AKIATEST/\\d{8}/eu-central-1/kms/aws4_request, ' +
  'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$');

// The fake KMS: answers Decrypt for the blobs it knows, or `kms.status` while that is set.
const kms = { keys: new Map(), calls: [], status: null };
let server;
const saved = {};
const CREDENTIALS = { AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test-secret',
  AWS_SESSION_TOKEN: 'test-session-token' };

before(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const call = { method: request.method, url: request.url, headers: request.headers, body: JSON.parse(body) };
      kms.calls.push(call);
      const reply = (status, payload) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
      };
      const key = kms.keys.get(call.body.CiphertextBlob);
      if (kms.status) reply(kms.status, { __type: 'AccessDeniedException', message: `not allowed on ${KEY_ID}` });
      else if (request.headers['x-amz-target'] !== 'TrentService.Decrypt') reply(400, { __type: 'UnknownOperation' });
      else if (!SIGV4.test(request.headers.authorization ?? '')) reply(403, { __type: 'IncompleteSignature' });
      else if (!key) reply(400, { __type: 'InvalidCiphertextException' });
      else reply(200, { KeyId: KEY_ID, Plaintext: key.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const environment = { ...CREDENTIALS, AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${server.address().port}` };
  for (const [name, value] of Object.entries(environment)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});

after(() => {
  server.close();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

afterEach(() => {
  kms.calls.length = 0;
  kms.status = null;
  for (const name of ['APP_GREETING', 'PUBLIC_SITE_NAME', 'API_SECRET']) delete process.env[name];
});

/** A config file as the deploy function writes it; returns its path. */
function sealed(variables, { project = PROJECT, tamper = false, dir = mkdtempSync(path.join(tmpdir(), 'bs-env-')) } = {}) {
  const key = randomBytes(32);
  const blob = randomBytes(48).toString('base64');
  kms.keys.set(blob, key);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(PROJECT, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(variables), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  if (tamper) ciphertext[0] ^= 1;
  const file = path.join(dir, ENV_FILE);
  writeFileSync(file, JSON.stringify({ version: 1, key_id: KEY_ID, context: { 'battleshiper:project': project },
    data_key: blob, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64') }));
  return file;
}

// A server that records the env init saw and answers with what process.env holds at request time.
function recorder() {
  const seen = { inits: 0 };
  class Server {
    async init({ env }) {
      seen.inits++;
      seen.env = { ...env };
    }
    async respond() {
      return new Response(process.env.APP_GREETING ?? '(none)', { headers: { 'content-type': 'text/plain' } });
    }
  }
  return { Server, seen };
}

const event = { rawPath: '/', headers: { host: 'shop.example' }, requestContext: { http: { method: 'GET' } } };

// Runs `run` with console.error captured; returns what it logged.
async function logged(run) {
  const lines = [];
  const original = console.error;
  console.error = (...args) => lines.push(args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' '));
  try {
    await run();
  } finally {
    console.error = original;
  }
  return lines.join('\n');
}

test('the variables reach process.env and the env init is given', async () => {
  const variables = { APP_GREETING: 'hello', PUBLIC_SITE_NAME: 'Shop', API_SECRET: SECRET };
  const { Server, seen } = recorder();
  const handler = createHandler(Server, {}, { envFile: sealed(variables) });
  assert.equal((await handler(event, {})).body, 'hello');
  assert.equal(process.env.API_SECRET, SECRET);
  assert.deepEqual([seen.env.APP_GREETING, seen.env.PUBLIC_SITE_NAME, seen.env.API_SECRET], ['hello', 'Shop', SECRET]);
  await handler(event, {});
  assert.equal(seen.inits, 1);
  assert.equal(kms.calls.length, 1); // once per container
  const [call] = kms.calls;
  assert.equal(call.method, 'POST');
  assert.equal(call.url, '/');
  assert.equal(call.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(call.headers['x-amz-security-token'], 'test-session-token');
  assert.deepEqual(Object.keys(call.body).sort(), ['CiphertextBlob', 'EncryptionContext', 'KeyId']);
  assert.deepEqual(call.body.EncryptionContext, { 'battleshiper:project': PROJECT });
  assert.equal(call.body.KeyId, KEY_ID);
});

test('without a file there are no variables and no KMS call', async () => {
  const { Server, seen } = recorder();
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-env-'));
  const handler = createHandler(Server, {}, { envFile: path.join(dir, ENV_FILE) });
  assert.equal((await handler(event, {})).body, '(none)');
  assert.equal(seen.inits, 1);
  assert.equal(kms.calls.length, 0);
});

test('a KMS error answers 500 and the next request retries', async () => {
  const { Server, seen } = recorder();
  const handler = createHandler(Server, {}, { envFile: sealed({ APP_GREETING: 'hello' }) });
  kms.status = 400;
  let result;
  const log = await logged(async () => { result = await handler(event, {}); });
  assert.equal(result.statusCode, 500);
  assert.equal(result.body, 'Internal Error');
  assert.match(log, /KMS Decrypt: HTTP 400 AccessDeniedException/);
  assert.ok(!log.includes(KEY_ID), log); // KMS's own message stays out
  assert.equal(seen.inits, 0);
  kms.status = null;
  assert.equal((await handler(event, {})).body, 'hello');
  assert.equal(kms.calls.length, 2);
});

for (const [label, options] of [['tampered ciphertext', { tamper: true }], ["another project's file", { project: 'other' }]]) {
  test(`${label} answers 500 and logs no value`, async () => {
    const { Server, seen } = recorder();
    const handler = createHandler(Server, {}, { envFile: sealed({ API_SECRET: SECRET }, options) });
    let result;
    const log = await logged(async () => { result = await handler(event, {}); });
    assert.equal(result.statusCode, 500);
    assert.match(log, /does not decrypt/);
    assert.ok(!log.includes(SECRET), log);
    assert.equal(process.env.API_SECRET, undefined);
    assert.equal(seen.inits, 0);
  });
}

test('a malformed file or an unknown version fails init without calling KMS', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-env-'));
  for (const [text, message] of [['{"version": 1, "key_id": ', /is not valid JSON/],
    [JSON.stringify({ version: 2 }), /unknown version/], [JSON.stringify({ version: 1 }), /lacks key_id/]]) {
    writeFileSync(path.join(dir, ENV_FILE), text);
    const { Server } = recorder();
    const handler = createHandler(Server, {}, { envFile: path.join(dir, ENV_FILE) });
    let result;
    const log = await logged(async () => { result = await handler(event, {}); });
    assert.equal(result.statusCode, 500);
    assert.match(log, message);
  }
  assert.equal(kms.calls.length, 0);
});

test('the bundled handler reads the file beside its index.mjs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-env-bundle-'));
  const lambda = fileURLToPath(new URL('../files/lambda.js', import.meta.url));
  writeFileSync(path.join(dir, 'entry.js'),
    `import { createHandler } from ${JSON.stringify(lambda)};\n` +
    'class Server { async init() {} async respond() { return new Response(process.env.APP_GREETING); } }\n' +
    'export const handler = createHandler(Server, {});\n');
  const out = path.join(dir, 'out');
  await bundle({ entry: path.join(dir, 'entry.js'), outfile: path.join(out, 'index.mjs'), log: { warn() {} } });
  sealed({ APP_GREETING: 'bundled hello' }, { dir: out });
  const { handler } = await import(pathToFileURL(path.join(out, 'index.mjs')).href);
  assert.equal((await handler(event, {})).body, 'bundled hello');
});
