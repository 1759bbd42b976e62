import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The console token keys: an Ed25519 pair. The control plane alone holds the private key (PKCS#8
 * PEM); hosts get the public key (SPKI PEM), which verifies and cannot sign.
 */
export function generateConsoleKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function consolePrivateKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`the console signing key in ${source} is not a PEM private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the console signing key in ${source} must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

export function consolePublicKey(pem: string, source: string): KeyObject {
  // createPublicKey would quietly derive the public half of a private key: refuse the private key itself.
  if (/PRIVATE KEY/.test(pem)) throw new Error(`${source} holds a private key: a host gets only the public one`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`the console verification key in ${source} is not a PEM public key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the console verification key in ${source} must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

/**
 * Makes the key files of a local cloud unless they exist: the private key (mode 0600) for the
 * API, the public key (0644) for the host agents. An existing private key keeps its public key.
 */
export async function createConsoleKeyFiles(privatePath: string, publicPath: string): Promise<void> {
  await mkdir(dirname(privatePath), { recursive: true });
  const pair = generateConsoleKeyPair();
  try {
    await writeFile(privatePath, pair.privatePem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const privateKey = consolePrivateKey(await readFile(privatePath, 'utf8'), privatePath);
  await mkdir(dirname(publicPath), { recursive: true });
  await writeFile(publicPath, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
}
