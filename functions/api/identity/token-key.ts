import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../../../shared/config.js';

export const MIN_KEY_BYTES = 32;

/**
 * The token signing key: base64 of at least 32 random bytes, read from TOKEN_KEY_FILE (local
 * runtime) or from the SSM SecureString parameter TOKEN_KEY_PARAMETER (AWS). Read once per process.
 */
let key: Promise<Buffer> | undefined;

export function tokenKey(): Promise<Buffer> {
  key ??= loadKey().catch((err: unknown) => {
    key = undefined;
    throw err;
  });
  return key;
}

async function loadKey(): Promise<Buffer> {
  const { TOKEN_KEY_FILE, TOKEN_KEY_PARAMETER } = config();
  if (TOKEN_KEY_FILE) return decodeKey(await readFile(TOKEN_KEY_FILE, 'utf8'), TOKEN_KEY_FILE);
  if (TOKEN_KEY_PARAMETER) {
    const out = await new SSMClient({}).send(new GetParameterCommand({ Name: TOKEN_KEY_PARAMETER, WithDecryption: true }));
    return decodeKey(out.Parameter?.Value ?? '', `SSM parameter ${TOKEN_KEY_PARAMETER}`);
  }
  throw new Error('No token signing key configured: set TOKEN_KEY_FILE or TOKEN_KEY_PARAMETER');
}

function decodeKey(text: string, source: string): Buffer {
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length < MIN_KEY_BYTES) throw new Error(`The token key in ${source} must be base64 of at least ${MIN_KEY_BYTES} bytes`);
  return bytes;
}

/** Writes a new random key to `path` (mode 0600) unless a key file is already there. */
export async function createTokenKeyFile(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, `${randomBytes(MIN_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** For tests and the local runtime, which may point TOKEN_KEY_FILE elsewhere after import. */
export function resetTokenKey(): void {
  key = undefined;
}
