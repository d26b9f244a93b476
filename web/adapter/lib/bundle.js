// Bundles the Lambda entry, the SvelteKit server and everything they import into one ESM file.
import { build } from 'esbuild';

// Bundled CommonJS dependencies may `require` Node built-ins; ESM has no `require`, so provide one.
const BANNER = "import { createRequire as __bsCreateRequire } from 'node:module';\n" +
  'const require = __bsCreateRequire(import.meta.url);';

export async function bundle({ entry, outfile, log }) {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // The Node.js runtime provides no packages beyond Node's own.
    packages: 'bundle',
    banner: { js: BANNER },
    legalComments: 'none',
    logLevel: 'silent',
  });
  // Errors already threw (esbuild rejects); warnings are shown but do not hide a working bundle.
  for (const warning of result.warnings) log.warn(`esbuild: ${warning.text}`);
}
