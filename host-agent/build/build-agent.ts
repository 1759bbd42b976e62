import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentFiles } from '../agent-files.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run build:agent` puts the artifact: one directory to copy onto a metal host. */
export const AGENT_ARTIFACT_DIR = join(repoRoot, 'dist', 'host-agent');
/** The agent itself, one ES module run by `node` (>= 24). */
export const AGENT_BUNDLE = join(AGENT_ARTIFACT_DIR, 'host-agent.mjs');

/** CommonJS dependencies in an ES module bundle still call require() for Node's built-ins. */
const REQUIRE_SHIM = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * Bundles the host agent (host-agent/cli.ts and everything it imports) into dist/host-agent/:
 * host-agent.mjs, the metadata proxy script it runs in network namespaces, and the console's
 * pages, noVNC and xterm.js files. Built into a fresh directory and swapped in whole, so an agent
 * starting meanwhile never sees half an artifact.
 */
export async function buildAgent(): Promise<string> {
  const staging = `${AGENT_ARTIFACT_DIR}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'assets'), { recursive: true });
  // Imported here, not at the top: the artifact holds this module (cli.ts's install from a checkout) but never calls it.
  const { build, stop } = await import('esbuild');
  await build({
    entryPoints: [join(repoRoot, 'host-agent', 'cli.ts')],
    outfile: join(staging, 'host-agent.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    banner: { js: REQUIRE_SHIM },
    define: { NOVALESS_AGENT_BUNDLE: 'true' },
    external: ['esbuild'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  await stop(); // its service process would otherwise live as long as the caller (the local cloud)
  // esbuild keeps cli.ts's `#!/usr/bin/env tsx` line first: the artifact runs on node.
  const bundle = join(staging, 'host-agent.mjs');
  await writeFile(bundle, (await readFile(bundle, 'utf8')).replace(/^#!.*\n/, '#!/usr/bin/env node\n'), { mode: 0o755 });
  const source = agentFiles();
  await cp(source.metadataProxyScript, join(staging, 'metadata-proxy.mjs'));
  await cp(source.consolePages, join(staging, 'assets', 'pages'), { recursive: true });
  for (const part of ['core', 'vendor']) await cp(join(source.novnc, part), join(staging, 'assets', 'novnc', part), { recursive: true });
  await cp(join(source.xterm, 'lib', 'xterm.mjs'), join(staging, 'assets', 'xterm', 'lib', 'xterm.mjs'));
  await cp(join(source.xterm, 'css', 'xterm.css'), join(staging, 'assets', 'xterm', 'css', 'xterm.css'));
  await writeFile(join(staging, 'README'), 'The novaless host agent: run `node host-agent.mjs install --help` on a metal host (Node.js 24 or later).\n');
  await swapIn(staging);
  return AGENT_BUNDLE;
}

/** Replaces the artifact directory by the staged one; two builds at once (two local clouds starting) both end with a whole one. */
async function swapIn(staging: string): Promise<void> {
  const old = `${AGENT_ARTIFACT_DIR}.${process.pid}.old`;
  for (let attempt = 1; ; attempt++) {
    await rename(AGENT_ARTIFACT_DIR, old).catch(() => undefined);
    try {
      await rename(staging, AGENT_ARTIFACT_DIR);
      break;
    } catch (err) {
      if (attempt >= 5 || !['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  await rm(old, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const bundle = await buildAgent();
  console.log(`built ${bundle} in ${Date.now() - started} ms`);
}
