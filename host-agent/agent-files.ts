import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set (to true) by `npm run build:agent` when it bundles the agent into one file (host-agent/build/). */
declare const NOVALESS_AGENT_BUNDLE: boolean | undefined;

/** Whether this agent runs as the one-file artifact rather than from a checkout. */
export const runsAsArtifact = typeof NOVALESS_AGENT_BUNDLE !== 'undefined' && NOVALESS_AGENT_BUNDLE;

/** The artifact's directory: the bundle, its metadata proxy script and its assets/ (see host-agent/build/build-agent.ts). */
const artifactDir = () => dirname(fileURLToPath(import.meta.url));

const packageDir = (name: string, entryDepth: number) => {
  let dir = fileURLToPath(import.meta.resolve(name));
  for (let i = 0; i < entryDepth; i++) dir = dirname(dir);
  return dir;
};

/** The checkout this code runs from: the nearest folder up with a package.json (this module may be bundled elsewhere, as into dist/local/start.mjs). */
function checkoutRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = dirname(dir);
  }
  return dir;
}

/**
 * The files the agent serves or runs beside its code: from the artifact's directory when bundled,
 * from the source tree and node_modules otherwise.
 */
export function agentFiles() {
  if (runsAsArtifact) {
    const dir = artifactDir();
    return {
      consolePages: join(dir, 'assets', 'pages'),
      novnc: join(dir, 'assets', 'novnc'),
      xterm: join(dir, 'assets', 'xterm'),
      metadataProxyScript: join(dir, 'metadata-proxy.mjs'),
    };
  }
  const hostAgentDir = join(checkoutRoot(), 'host-agent');
  return {
    consolePages: join(hostAgentDir, 'console', 'pages'),
    // noVNC's `exports` name only core/rfb.js; xterm's `main` is lib/xterm.js: one folder below their roots.
    novnc: packageDir('@novnc/novnc', 2),
    xterm: packageDir('@xterm/xterm', 2),
    metadataProxyScript: join(hostAgentDir, 'metadata', 'metadata-proxy.mjs'),
  };
}
