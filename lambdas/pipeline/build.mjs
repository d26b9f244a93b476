// Build runner of a Battleshiper build job: fetch the build spec, check out one commit, install, build,
// pack the output directory and upload it for the deploy function.
//
// Why Node and not a shell script: the job runs in a public Node image (node, git, tar, coreutils) that
// has no AWS CLI, so the runner signs its two S3 requests itself (SigV4 with the job role's container
// credentials; the role may only read this project's build specs and write its build outputs).
// Why no presigned URLs in the event: whatever the build rule hands to the job shows up in the Batch
// state-change event on the default bus (reference defect 2), so the job gets only its execution id.
// The project template embeds this file in the job definition (`node --input-type=module -e <this>`),
// so the job needs no access to the artifacts bucket. Only Node built-ins, and no Batch parameter
// references (the test checks both).
//
// Environment: EXECUTION_ID, PROJECT, BUILD_BUCKET, AWS_REGION, S3_ENDPOINT (e.g. https://<bucket>.s3.
// <region>.amazonaws.com), BUILD_TIMEOUT_SECONDS (install + build together), BUILD_USER (uid:gid).
//
// The user's commands get no way to reach AWS credentials. The job's credentials are where the container
// put them: the ECS agent's AWS_CONTAINER_CREDENTIALS_* variables, in the runner's environment and so in
// /proc/1/environ for the container's whole life, and the credentials endpoint, which answers whoever
// knows that URI. So the checkout is handed to BUILD_USER, an unprivileged user (the job starts as root),
// and install, build and packing run as it: it may read neither /proc/1/environ nor the runner's memory,
// and its environment is built from an allow-list (no AWS_*, ECS_*, token), so it never learns the URI.
// (Presigned URLs in place of the job role would have to ride in the job's parameters, which the
// state-change event repeats, and die with the signer's temporary credentials: docs/PIPELINE.md.)
// Build spec, s3://$BUILD_BUCKET/$PROJECT/$EXECUTION_ID/build-spec.json (written by the build trigger):
//   { "clone_url": "https://github.com/<owner>/<repo>.git",   no credentials in the URL
//     "token": "<installation token, this repository only, contents:read>",   optional
//     "branch": "main", "commit": "<sha>",   commit optional: the branch tip otherwise
//     "install_command": "npm ci", "build_command": "npm run build", "output_directory": "build",
//     "environment": {"NAME": "value"},   optional: the project's build variables, exported to install,
//                                          build and packing (names the runner sets itself are skipped)
//     "masked": ["secret value"] }        optional: replaced by *** in install and build output
// Output: s3://$BUILD_BUCKET/$PROJECT/$EXECUTION_ID/output.tar.gz, the output directory's contents.
// The token is never printed and never reaches the install and build commands; variables' values are
// never printed by the runner (their names are).

import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { StringDecoder } from "node:string_decoder";

const say = (line) => console.log(`[battleshiper] ${line}`);

class BuildError extends Error {}

function required(name) {
  const value = process.env[name];
  if (!value) throw new BuildError(`${name} is not set`);
  return value;
}

// --- S3 over SigV4 -------------------------------------------------------------------------------

async function credentials() {
  if (process.env.AWS_ACCESS_KEY_ID) {
    // Static keys: a runner started by hand (the local platform serves a credentials endpoint instead).
    return { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY,
             token: process.env.AWS_SESSION_TOKEN };
  }
  const relative = process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const url = process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? `http://169.254.170.2${relative}`;
  const auth = process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  const response = await fetch(url, { headers: auth ? { authorization: auth } : {} });
  if (!response.ok) throw new BuildError(`no job credentials (HTTP ${response.status})`);
  const body = await response.json();
  return { id: body.AccessKeyId, secret: body.SecretAccessKey, token: body.Token };
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

function signedHeaders(method, url, body, creds, region) {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  const scope = `${amzDate.slice(0, 8)}/${region}/s3/aws4_request`;
  const headers = { host: url.host, "x-amz-content-sha256": sha256(body), "x-amz-date": amzDate };
  if (creds.token) headers["x-amz-security-token"] = creds.token;
  const names = Object.keys(headers).sort();
  const canonical = [method, url.pathname, "", ...names.map((n) => `${n}:${headers[n]}`), "",
                     names.join(";"), headers["x-amz-content-sha256"]].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  let key = hmac(`AWS4${creds.secret}`, amzDate.slice(0, 8));
  for (const part of [region, "s3", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${creds.id}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  delete headers.host; // fetch sets it from the URL
  return headers;
}

async function s3(method, key, body, extraHeaders = {}) {
  const url = new URL(`${required("S3_ENDPOINT").replace(/\/$/, "")}/${key}`);
  const payload = body ?? Buffer.alloc(0);
  const headers = signedHeaders(method, url, payload, await credentials(), required("AWS_REGION"));
  const response = await fetch(url, { method, headers: { ...headers, ...extraHeaders },
                                      body: body ?? undefined });
  if (!response.ok) throw new BuildError(`S3 ${method} ${key}: HTTP ${response.status}`);
  return response;
}

// --- the build ---------------------------------------------------------------------------------

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) throw new BuildError(`${command}: ${result.error.message}`);
  return result.status ?? 1;
}

// What the user's commands may inherit: how to find programs and the locale (npm's cache where the local
// platform shares one). Nothing else: no credentials, no endpoint, no token.
const PASSED = ["PATH", "LANG", "LC_ALL", "TZ", "npm_config_cache"];
// Names the runner sets itself: a build variable never replaces them (the API refuses them already).
const RESERVED = ["PATH", "HOME", "TMPDIR", "CI"];
const RESERVED_PREFIXES = ["AWS_", "ECS_", "BATTLESHIPER_"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// The project's build variables that may be exported: reserved and malformed names are left out.
function buildVariables(environment = {}) {
  const variables = {}, skipped = [];
  for (const [name, value] of Object.entries(environment)) {
    const reserved = RESERVED.includes(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p));
    if (reserved || !ENV_NAME.test(name)) skipped.push(name);
    else variables[name] = value;
  }
  if (skipped.length) say(`environment: skipped ${skipped.sort().join(", ")} (set by the runner or malformed)`);
  const names = Object.keys(variables).sort();
  if (names.length) say(`environment: ${names.length} variables (${names.join(", ")})`);
  return variables;
}

// --- masking the user's commands' output ---------------------------------------------------------

// Output is forwarded a line at a time, so a value is masked even when written in pieces; a partial line
// longer than this is let through (masked as far as it goes) so that output without newlines still shows.
const PARTIAL_LINE_LIMIT = 64 * 1024;
// How long output may still come after the command exited: a background process it left holding the
// pipe must not hold up the build.
const OUTPUT_GRACE_MS = 2000;

// Longest first, so that a value containing another is masked whole. A multi-line value is masked whole
// and line by line: the output is forwarded line by line.
function masksOf(values = []) {
  const masks = new Set();
  for (const value of values) {
    if (!value) continue;
    masks.add(value);
    for (const line of value.split(/\r\n|\n|\r/)) if (line.trim()) masks.add(line.trim());
  }
  return [...masks].sort((a, b) => b.length - a.length);
}

const mask = (text, masks) => masks.reduce((out, value) => out.split(value).join("***"), text);

// Forward `stream` to `out` masked, whole lines (ending in \n or \r: progress bars) at a time.
function forward(stream, out, masks) {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  const flush = (text) => { if (text) out.write(mask(text, masks)); };
  stream.on("data", (chunk) => {
    pending += decoder.write(chunk);
    const end = Math.max(pending.lastIndexOf("\n"), pending.lastIndexOf("\r")) + 1;
    if (end > 0) {
      flush(pending.slice(0, end));
      pending = pending.slice(end);
    }
    if (pending.length > PARTIAL_LINE_LIMIT) {
      flush(pending);
      pending = "";
    }
  });
  return () => {
    flush(pending + decoder.end());
    pending = "";
  };
}

// Run a user's command with its output masked; resolves to its exit status.
function runMasked(command, args, options, masks) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const ends = [forward(child.stdout, process.stdout, masks), forward(child.stderr, process.stderr, masks)];
    let status = null, open = 2, grace = null, finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(grace);
      for (const end of ends.splice(0)) end();
      done(status);
    };
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("close", () => { if (--open === 0 && status !== null) finish(); });
    }
    child.on("error", (error) => fail(new BuildError(`${command}: ${error.message}`)));
    child.on("exit", (code, signal) => {
      status = code ?? 128 + (constants.signals[signal] ?? 0);
      if (open === 0) return finish();
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, OUTPUT_GRACE_MS);
    });
  });
}

// The unprivileged user of the user's commands (none: they run as the runner's user, as where the local
// platform runs without root).
function buildUser() {
  const value = process.env.BUILD_USER;
  if (!value) return null;
  const [uid, gid] = value.split(":").map(Number);
  if (!(uid > 0 && gid > 0)) throw new BuildError("BUILD_USER is malformed");
  // Fail closed: a build image that starts as another user would leave the credentials in reach.
  if (process.getuid() !== 0) {
    throw new BuildError("the build job must start as root to run the build as BUILD_USER");
  }
  return { uid, gid };
}

// A home, a temporary folder and the checkout, owned by the build user; the environment it runs with.
function sandbox(work, src, user, variables) {
  const home = join(work, "home"), tmp = join(work, "tmp");
  for (const dir of [home, tmp]) mkdirSync(dir);
  const env = { CI: "true", HOME: user ? home : (process.env.HOME ?? home), TMPDIR: tmp };
  for (const key of PASSED) if (process.env[key]) env[key] = process.env[key];
  Object.assign(env, variables);
  if (user) {
    chownSync(work, user.uid, user.gid);
    if (run("chown", ["-R", "-h", `${user.uid}:${user.gid}`, home, tmp, src]) !== 0) {
      throw new BuildError("could not hand the checkout to the build user");
    }
  }
  return { env, ...(user ?? {}) };
}

function checkSpec(spec) {
  for (const field of ["clone_url", "branch", "build_command", "output_directory"]) {
    if (typeof spec[field] !== "string" || !spec[field]) throw new BuildError(`build spec lacks ${field}`);
  }
  const url = new URL(spec.clone_url);
  if (!["https:", "file:"].includes(url.protocol) || url.username || url.password) {
    throw new BuildError("clone_url must be an https URL without credentials");
  }
  // Never a value in these messages: they are printed.
  const { environment = {}, masked = [] } = spec;
  const isMap = typeof environment === "object" && environment !== null && !Array.isArray(environment);
  if (!isMap || !Object.values(environment).every((v) => typeof v === "string")) {
    throw new BuildError("build spec: environment must map names to strings");
  }
  if (!Array.isArray(masked) || !masked.every((v) => typeof v === "string")) {
    throw new BuildError("build spec: masked must be a list of strings");
  }
}

function checkout(spec, dir) {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
  if (spec.token) {
    // Through the environment, not the URL or argv: nothing stores or prints it.
    const basic = Buffer.from(`x-access-token:${spec.token}`).toString("base64");
    Object.assign(env, { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader",
                         GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
  }
  const ref = spec.commit || spec.branch;
  say(`fetching ${spec.clone_url} ${ref} (shallow)`);
  if (run("git", ["init", "-q", dir]) !== 0 ||
      run("git", ["-C", dir, "fetch", "-q", "--depth", "1", "--", spec.clone_url, ref], { env }) !== 0 ||
      run("git", ["-C", dir, "checkout", "-q", "FETCH_HEAD"]) !== 0) {
    throw new BuildError("checkout failed");
  }
}

async function step(name, command, cwd, deadline, as, masks) {
  const seconds = Math.floor((deadline - Date.now()) / 1000);
  if (seconds <= 0) throw new BuildError(`no time left for ${name}`);
  say(mask(`${name}: ${command}`, masks));
  const args = ["--kill-after=10", String(seconds), "sh", "-c", command];
  const status = await runMasked("timeout", args, { cwd, ...as }, masks);
  if (status === 124 || status === 137) throw new BuildError(`${name} timed out`);
  if (status !== 0) throw new BuildError(`${name} failed (exit ${status})`);
}

async function main() {
  const started = Date.now();
  const execution = required("EXECUTION_ID");
  const project = required("PROJECT");
  required("BUILD_BUCKET"); // the endpoint names the bucket; this guards a half-configured job
  const deadline = started + Number(process.env.BUILD_TIMEOUT_SECONDS || 840) * 1000;
  if (!/^[A-Za-z0-9-]{1,64}$/.test(execution)) throw new BuildError("EXECUTION_ID is malformed");
  say(`START BUILD ${project} ${execution}`);

  const text = await (await s3("GET", `${project}/${execution}/build-spec.json`)).text();
  let spec;
  try {
    spec = JSON.parse(text);
  } catch {
    throw new BuildError("build spec is not valid JSON"); // the parser's message would quote the token
  }
  checkSpec(spec);
  const user = buildUser();
  const work = mkdtempSync(join(tmpdir(), "battleshiper-"));
  const src = join(work, "src");
  checkout(spec, src);
  const variables = buildVariables(spec.environment);
  const masks = masksOf(spec.masked);
  // Out of the spec, so nothing that prints it can print them.
  delete spec.token;
  delete spec.environment;
  delete spec.masked;
  const as = sandbox(work, src, user, variables);
  if (user) say(`install, build and packing run as ${user.uid}:${user.gid}`);

  if (spec.install_command) await step("install", spec.install_command, src, deadline, as, masks);
  await step("build", spec.build_command, src, deadline, as, masks);

  const output = resolve(src, spec.output_directory);
  if (!output.startsWith(src + sep) || !statSync(output, { throwIfNoEntry: false })?.isDirectory()) {
    throw new BuildError(`output directory ${spec.output_directory} does not exist in the repository`);
  }
  const archive = join(work, "output.tar.gz");
  // As the build user too: it packs only what that user may read.
  if (run("tar", ["-czf", archive, "-C", output, "."], as) !== 0) throw new BuildError("packing failed");
  const body = readFileSync(archive);
  await s3("PUT", `${project}/${execution}/output.tar.gz`, body, { "content-type": "application/gzip" });
  say(`uploaded ${body.length} bytes in ${Math.round((Date.now() - started) / 1000)} s`);
}

try {
  await main();
} catch (error) {
  say(`BUILD FAILED: ${error instanceof BuildError ? error.message : error}`);
  process.exit(1);
}
