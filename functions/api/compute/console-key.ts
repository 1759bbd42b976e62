import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../../../shared/config.js';
import { consolePrivateKey } from '../../../shared/console/console-keys.js';

/**
 * The console token signing key (Ed25519), read once per process from CONSOLE_KEY_FILE (local
 * runtime) or the SSM SecureString parameter CONSOLE_KEY_PARAMETER (AWS), as the identity token
 * key is. Its public half verifies tokens for os-console-auth-tokens.
 */
let keys: Promise<{ privateKey: KeyObject; publicKey: KeyObject }> | undefined;

export function consoleKeys(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  keys ??= loadKeys().catch((error: unknown) => {
    keys = undefined;
    throw error;
  });
  return keys;
}

/** Whether a console key is configured at all (without one the API offers no console: Nova's [vnc] enabled = False). */
export const consoleKeyConfigured = () => Boolean(config().CONSOLE_KEY_FILE || config().CONSOLE_KEY_PARAMETER);

async function loadKeys(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const { CONSOLE_KEY_FILE, CONSOLE_KEY_PARAMETER } = config();
  let pem: string;
  let source: string;
  if (CONSOLE_KEY_FILE) {
    pem = await readFile(CONSOLE_KEY_FILE, 'utf8');
    source = CONSOLE_KEY_FILE;
  } else if (CONSOLE_KEY_PARAMETER) {
    const out = await new SSMClient({}).send(new GetParameterCommand({ Name: CONSOLE_KEY_PARAMETER, WithDecryption: true }));
    pem = out.Parameter?.Value ?? '';
    source = `SSM parameter ${CONSOLE_KEY_PARAMETER}`;
  } else {
    throw new Error('No console signing key configured: set CONSOLE_KEY_FILE or CONSOLE_KEY_PARAMETER');
  }
  const privateKey = consolePrivateKey(pem, source);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** For tests, which may point CONSOLE_KEY_FILE elsewhere after import. */
export function resetConsoleKeys(): void {
  keys = undefined;
}
