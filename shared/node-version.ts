/**
 * The Node.js major novaless runs on: its Lambda functions' runtime (nodejs24.x), `engines`,
 * and the `node` package in package.json, which npm scripts run on (node_modules/.bin/node).
 */
export const NODE_MAJOR = 24;

/**
 * Stops the process when it runs on an older Node.js than NODE_MAJOR: a machine's own Node
 * (Debian's is 20) would test and run something other than what runs in AWS.
 */
export function requireNodeMajor(what: string): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= NODE_MAJOR) return;
  process.stderr.write(
    `${what} needs Node.js ${NODE_MAJOR} or later, but runs on ${process.version} (${process.execPath}).\n` +
      `Run it through npm (npm start, npm test, npm run ...) after npm ci: npm scripts run on the project's own Node.js ${NODE_MAJOR} (node_modules/.bin/node).\n`,
  );
  process.exit(1);
}
