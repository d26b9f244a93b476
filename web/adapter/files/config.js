// The deployment's runtime variables: battleshiper-env.json beside index.mjs, AES-256-GCM sealed under a
// KMS data key. Only Node built-ins: the bundle runs on the host's Node locally and on Lambda's, with no SDK.
// No message here ever quotes a value, the data key or the file's text: they end up in the function's log.
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export const ENV_FILE = 'battleshiper-env.json';
const PROJECT_CONTEXT = 'battleshiper:project';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KMS_TIMEOUT_MS = 5000;

export class ConfigError extends Error {}

/** The deployment's variables, {} when it has no file (none configured). The default location works
 * once bundled: import.meta.url is then index.mjs's. */
export async function loadVariables(file = new URL(`./${ENV_FILE}`, import.meta.url), env = process.env) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw new ConfigError(`${ENV_FILE} cannot be read (${error.code ?? 'error'})`);
  }
  const config = parseConfig(text);
  const dataKey = await kmsDecrypt(config, env);
  try {
    return openConfig(config, dataKey);
  } finally {
    dataKey.fill(0);
  }
}

/** The file's fields, checked; throws on anything but version 1. */
export function parseConfig(text) {
  let config;
  try {
    config = JSON.parse(text);
  } catch {
    throw new ConfigError(`${ENV_FILE} is not valid JSON`); // the parser's message would quote the text
  }
  if (!isObject(config)) throw new ConfigError(`${ENV_FILE} is not a JSON object`);
  if (config.version !== 1) throw new ConfigError(`${ENV_FILE} has an unknown version`);
  for (const field of ['key_id', 'data_key', 'nonce', 'ciphertext']) {
    if (typeof config[field] !== 'string' || !config[field]) throw new ConfigError(`${ENV_FILE} lacks ${field}`);
  }
  const project = isObject(config.context) ? config.context[PROJECT_CONTEXT] : undefined;
  if (typeof project !== 'string' || !project) throw new ConfigError(`${ENV_FILE} lacks context.${PROJECT_CONTEXT}`);
  if (Buffer.from(config.nonce, 'base64').length !== NONCE_BYTES) throw new ConfigError(`${ENV_FILE}: nonce is not 12 bytes`);
  if (Buffer.from(config.ciphertext, 'base64').length < TAG_BYTES) throw new ConfigError(`${ENV_FILE}: ciphertext is too short`);
  return config;
}

/** Decrypt the ciphertext with the plaintext data key: the variables, a map of strings. */
export function openConfig(config, dataKey) {
  const sealed = Buffer.from(config.ciphertext, 'base64');
  let plaintext;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(config.nonce, 'base64'),
      { authTagLength: TAG_BYTES });
    // The project name is the additional data: a file copied from another project does not open.
    decipher.setAAD(Buffer.from(config.context[PROJECT_CONTEXT], 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ConfigError(`${ENV_FILE}: the ciphertext does not decrypt (tampered, or another project's)`);
  }
  let variables;
  try {
    variables = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new ConfigError(`${ENV_FILE}: the decrypted variables are not valid JSON`);
  } finally {
    plaintext.fill(0);
  }
  if (!isObject(variables)) throw new ConfigError(`${ENV_FILE}: the decrypted variables are not a JSON object`);
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value !== 'string') throw new ConfigError(`${ENV_FILE}: variable ${name} is not a string`);
  }
  return variables;
}

// KMS Decrypt over its JSON protocol, signed with the function's own role credentials.
async function kmsDecrypt(config, env) {
  const region = env.AWS_REGION;
  if (!region || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new ConfigError('KMS Decrypt: no region or credentials in the environment');
  }
  const url = new URL(env.AWS_ENDPOINT_URL_KMS ?? `https://kms.${region}.amazonaws.com`);
  const body = JSON.stringify({ CiphertextBlob: config.data_key, KeyId: config.key_id,
    EncryptionContext: config.context });
  const headers = sign({
    url, body, region, service: 'kms',
    creds: { id: env.AWS_ACCESS_KEY_ID, secret: env.AWS_SECRET_ACCESS_KEY, token: env.AWS_SESSION_TOKEN },
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Decrypt' },
  });
  let response;
  let answer;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(KMS_TIMEOUT_MS) });
    answer = await response.json().catch(() => ({}));
  } catch (error) {
    throw new ConfigError(`KMS Decrypt: ${error.name === 'TimeoutError' ? 'timed out' : 'request failed'}`);
  }
  if (!response.ok) {
    // Only the error type: KMS's message names ARNs, of no use to the app's log.
    const type = typeof answer?.__type === 'string' ? ` ${answer.__type.split('#').pop()}` : '';
    throw new ConfigError(`KMS Decrypt: HTTP ${response.status}${type}`);
  }
  const key = Buffer.from(typeof answer?.Plaintext === 'string' ? answer.Plaintext : '', 'base64');
  if (key.length !== KEY_BYTES) throw new ConfigError('KMS Decrypt: the answer holds no 32-byte key');
  return key;
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** SigV4 headers for a POST without a query string (host is left to fetch, which sends the same). */
export function sign({ url, body, region, service, creds, headers: extra = {}, now = new Date() }) {
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const scope = `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`;
  const headers = { ...extra, host: url.host, 'x-amz-date': amzDate };
  if (creds.token) headers['x-amz-security-token'] = creds.token;
  const names = Object.keys(headers).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([n, v]) => [n.toLowerCase(), String(v).trim()]));
  const canonical = [
    'POST', url.pathname || '/', '', ...names.map((n) => `${n}:${lower[n]}`), '', names.join(';'), sha256(body),
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${creds.secret}`, amzDate.slice(0, 8));
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...sent } = lower;
  sent.authorization =
    `AWS4-HMAC-SHA256 Credential=${creds.id}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return sent;
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
