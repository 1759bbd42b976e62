import { X509Certificate, createHash, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { BadRequest } from '../../../shared/errors.js';

/** Nova's InvalidKeypair: 400 "Keypair data is invalid: <reason>". */
export class InvalidKeypair extends BadRequest {
  constructor(reason: string) {
    super(`Keypair data is invalid: ${reason}`);
  }
}

const colonHex = (digest: Buffer) => digest.toString('hex').replace(/(..)(?!$)/g, '$1:');

/** The OpenSSH key types accepted, with the curve each ECDSA type names. */
const ECDSA_CURVES: Record<string, { jwk: string; size: number }> = {
  nistp256: { jwk: 'P-256', size: 32 },
  nistp384: { jwk: 'P-384', size: 48 },
  nistp521: { jwk: 'P-521', size: 66 },
};

/** Reads the length-prefixed strings of the SSH wire format (RFC 4251). */
class SshReader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  bytes(): Buffer {
    if (this.offset + 4 > this.data.length) throw new Error('truncated key');
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) throw new Error('truncated key');
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }

  text(): string {
    return this.bytes().toString('latin1');
  }

  /** An unsigned mpint, without its sign padding. */
  unsigned(): Buffer {
    const value = this.bytes();
    if (value.length > 0 && value[0] & 0x80) throw new Error('negative integer in key');
    let i = 0;
    while (i < value.length - 1 && value[i] === 0) i++;
    return value.subarray(i);
  }

  end(): void {
    if (this.offset !== this.data.length) throw new Error('key body contains extra bytes');
  }
}

/** The key an OpenSSH public key blob holds, as a JWK node:crypto can check. */
function sshBlobToJwk(keyType: string, blob: Buffer): JsonWebKey {
  const reader = new SshReader(blob);
  const innerType = reader.text();
  if (innerType !== keyType) throw new Error('key type mismatch');
  let jwk: JsonWebKey;
  if (keyType === 'ssh-rsa') {
    const e = reader.unsigned();
    const n = reader.unsigned();
    jwk = { kty: 'RSA', e: e.toString('base64url'), n: n.toString('base64url') };
  } else if (keyType === 'ssh-ed25519') {
    const x = reader.bytes();
    if (x.length !== 32) throw new Error('bad ed25519 key length');
    jwk = { kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') };
  } else if (keyType.startsWith('ecdsa-sha2-')) {
    const curveName = keyType.slice('ecdsa-sha2-'.length);
    const curve = ECDSA_CURVES[curveName];
    if (!curve || reader.text() !== curveName) throw new Error('unsupported curve');
    const point = reader.bytes();
    if (point.length !== 1 + 2 * curve.size || point[0] !== 0x04) throw new Error('unsupported point encoding');
    jwk = {
      kty: 'EC',
      crv: curve.jwk,
      x: point.subarray(1, 1 + curve.size).toString('base64url'),
      y: point.subarray(1 + curve.size).toString('base64url'),
    };
  } else {
    throw new Error('unsupported key type');
  }
  reader.end();
  return jwk;
}

/**
 * Validates an OpenSSH public key ("<type> <base64> [comment]") and returns its fingerprint as
 * Nova computes it: MD5 of the decoded key blob, colon-separated hex.
 */
export function sshFingerprint(publicKey: string): string {
  try {
    const m = /^(\S+)[ \t]+([A-Za-z0-9+/]+={0,2})(?:[ \t]|\r?\n|$)/.exec(publicKey);
    if (!m) throw new Error('not an OpenSSH public key');
    const blob = Buffer.from(m[2], 'base64');
    // createPublicKey checks the numbers themselves (RSA modulus, point on the curve).
    createPublicKey({ key: sshBlobToJwk(m[1], blob), format: 'jwk' });
    return colonHex(createHash('md5').update(blob).digest());
  } catch {
    throw new InvalidKeypair('failed to generate fingerprint');
  }
}

/** Validates a PEM X.509 certificate and returns Nova's fingerprint of it: SHA-1 of the DER, colon-separated hex. */
export function x509Fingerprint(pem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new InvalidKeypair(`failed to generate X509 fingerprint. Error message: ${(err as Error).message}`);
  }
  return colonHex(createHash('sha1').update(cert.raw).digest());
}

const sshString = (data: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
};

/** Two's-complement mpint: a leading zero byte when the high bit is set. */
const sshMpint = (unsigned: Buffer) => sshString(unsigned[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), unsigned]) : unsigned);

export interface GeneratedKeypair {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
}

/** A new RSA 2048 key pair as Nova makes one: public key in OpenSSH format, private key in PKCS#1 PEM. */
export function generateSshKeypair(): GeneratedKeypair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshMpint(Buffer.from(jwk.e as string, 'base64url')),
    sshMpint(Buffer.from(jwk.n as string, 'base64url')),
  ]);
  return {
    publicKey: `ssh-rsa ${blob.toString('base64')} Generated-by-Nova\n`,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    fingerprint: colonHex(createHash('md5').update(blob).digest()),
  };
}
