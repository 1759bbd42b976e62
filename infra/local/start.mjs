// `npm start`: the local cloud with no TypeScript loader in its process. Bundles start.ts and the
// code it runs (handlers, emulators' glue; npm packages stay outside the bundle, loaded from
// node_modules) with esbuild into dist/local/start.mjs, then runs that bundle in this process.
// Plain JavaScript on purpose: it is what runs before anything is compiled.
import { build, stop } from 'esbuild';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist/local/ sits as deep in the repository as infra/local/, so paths the code derives from its own location still hold.
const bundle = join(here, '..', '..', 'dist', 'local', 'start.mjs');
// Two clouds starting at once (the test lanes) each write their own file and swap it in whole.
const staged = `${bundle}.${process.pid}.tmp.mjs`;

await mkdir(dirname(bundle), { recursive: true });
await build({
  entryPoints: [join(here, 'start.ts')],
  outfile: staged,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: 'inline',
  logLevel: 'warning',
});
await rename(staged, bundle);
// esbuild's service process would stay for the cloud's whole life otherwise (~100 MB).
await stop();
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
