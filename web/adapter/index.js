// @battleshiper/adapter: builds a SvelteKit app into what a Battleshiper deployment serves.
//
//   build/client/             static files (assets, plus prerendered data and endpoint outputs) -> the CDN
//   build/prerendered/        prerendered HTML pages -> the CDN, addressed through the route store
//   build/server/handler.zip  one ESM file, index.mjs, exporting `handler` -> the project's server function
//   build/battleshiper.json   which request path each prerendered page answers (the deploy step's page keys)
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './lib/bundle.js';
import { pagePath } from './lib/pages.js';
import { zipSingleFile } from './lib/zip.js';

const FILES = fileURLToPath(new URL('./files/', import.meta.url));

// Output layout: the same strings as lambdas/shared/names.py (a test checks).
export const CLIENT_DIR = 'client';
export const PRERENDERED_DIR = 'prerendered';
export const SERVER_ZIP = 'server/handler.zip';
export const MANIFEST_FILE = 'battleshiper.json';
export const HANDLER_FILE = 'index.mjs';

/** @param {{ out?: string }} [options] */
export default function adapter(options = {}) {
  const out = options.out ?? 'build';
  return {
    name: '@battleshiper/adapter',
    async adapt(builder) {
      const tmp = builder.getBuildDirectory('battleshiper');
      builder.rimraf(out);
      builder.rimraf(tmp);
      builder.mkdirp(tmp);

      builder.log.minor('Copying assets');
      const client = path.join(out, CLIENT_DIR);
      builder.writeClient(client);
      writePrerendered(builder, out);

      builder.log.minor('Building server');
      builder.writeServer(tmp);
      writeFileSync(
        path.join(tmp, 'manifest.js'),
        `export const manifest = ${builder.generateManifest({ relativePath: './' })};\n`,
      );
      const entry = path.join(tmp, 'entry.js');
      writeFileSync(
        entry,
        `import { Server } from './index.js';\n` +
          `import { manifest } from './manifest.js';\n` +
          `import { createHandler } from ${JSON.stringify(path.join(FILES, 'lambda.js'))};\n` +
          `export const handler = createHandler(Server, manifest);\n`,
      );
      const serverDir = path.join(out, 'server');
      builder.mkdirp(serverDir);
      const bundled = path.join(tmp, HANDLER_FILE);
      // Throws on any esbuild error, so a broken server fails `vite build` (reference defect 85).
      await bundle({ entry, outfile: bundled, log: builder.log });
      await zipSingleFile(bundled, HANDLER_FILE, path.join(out, SERVER_ZIP));

      const pages = {};
      for (const [route, { file }] of builder.prerendered.pages) pages[pagePath(route)] = '/' + file;
      writeFileSync(path.join(out, MANIFEST_FILE), JSON.stringify({ version: 1, pages }, null, 2) + '\n');
      builder.log.minor(`Wrote ${out}: ${Object.keys(pages).length} prerendered page(s), ${SERVER_ZIP}`);
    },
  };
}

// SvelteKit keeps prerendered output in three folders: HTML pages go where the route store points;
// data (`__data.json`) and prerendered endpoints (`sitemap.xml`, `env.js`) are plain static files and go
// with the client assets, so deploy validation sees only pages under prerendered/ (reference defect 86).
function writePrerendered(builder, out) {
  const source = path.join(builder.config.kit.outDir, 'output', 'prerendered');
  const copy = (from, to) => {
    const dir = path.join(source, from);
    if (existsSync(dir)) builder.copy(dir, path.join(out, to));
  };
  copy('pages', PRERENDERED_DIR);
  copy('dependencies', CLIENT_DIR);
  copy('data', CLIENT_DIR);
  if (!existsSync(path.join(out, PRERENDERED_DIR))) builder.mkdirp(path.join(out, PRERENDERED_DIR));
}
