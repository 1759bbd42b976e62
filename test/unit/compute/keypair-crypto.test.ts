import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSshKeypair, InvalidKeypair, sshFingerprint, x509Fingerprint } from '../../../functions/api/compute/keypair-crypto.js';
import { checkKeypairName } from '../../../functions/api/compute/keypairs.js';

// Public keys and fingerprints checked with `ssh-keygen -l -E md5` and `openssl x509 -fingerprint -sha1`.
const RSA_SAMPLE =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova';
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHLn2TG7J6lKUFOHySY6OZjVgXfPDV/4AsrLL5LlIt6 test@example';
const ECDSA_256 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFytIHCKrsKZ+oMiNRTt3YfuV9jSFM9WKHE4tQCRFjERdjDoB1Hq6+cQVsSlZRXZz8bwGIznOtk9pubLaEEyBH8= root@vm';
const ECDSA_521 =
  'ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAAl2DjVkGHRiNuxGoh1vmc/wCRiZ4S93zBFuLmHf0j7selfdYZ6wGOCBdkVz9cJamokPgFdfiG457bsuGLI2WJUlQH6dVmEVea+giXq9rj/LUpuaTnTU3LCMNl24vIS0R8pWXQr40WZl1ZYvAjZVlFhqBzT7wfHq+jp1anI+HIyO4SEPQ== root@vm';
const CERT = `-----BEGIN CERTIFICATE-----
MIIDETCCAfmgAwIBAgIUHyO9dky8m7iPhMTmPodflWVHfh0wDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNbm92YWxlc3MtdGVzdDAeFw0yNjExMjExMjAwNTdaFw0z
NjExMTgxMjAwNTdaMBgxFjAUBgNVBAMMDW5vdmFsZXNzLXRlc3QwggEiMA0GCSqG
SIb3DQEBAQUAA4IBDwAwggEKAoIBAQDn0jn+/7U9UmW4E9Qzj+6tTDB88VqAWWkC
A3NygxDvmYcEU7U/sIvfGxoJpfCM0INFDhftNSUsYOsIwcmdnLHIqb/LAvqjXtOo
jdQm88M9Qv4COhFe2BD48Nzo1PsdN8Cln82Dx2uePBKIR/y9Y2qzWUk5bx1eVV1h
TMH3bo+QH1ew0RxIdBhWCZAd8+R4pQsPipnFg6gF7joFWsBGtJpLevMTQy7eoQW0
cJfkusTfTZmP+QpvwUfZhsJLM6wtSbuMU8rHLLLSLIIZzog6LJU2YkPw/7UdqgVZ
OvXfmxR2vnAdXsdglA6wHCGK+C7LnPwS3rgs/3/Au9qSK+MnRvF5AgMBAAGjUzBR
MB0GA1UdDgQWBBRKoCF0Eokoox8l/fKsh/eeqse77DAfBgNVHSMEGDAWgBRKoCF0
Eokoox8l/fKsh/eeqse77DAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA
A4IBAQCY9wWgUDLaPbXypeNzErSJC/1gUqqc1MJgA1NkFG0BhUAQ5oWGLlBOT/vj
+vzjwu4okTJv+TYD7sDNJvAzHC7rUub7TC8q60AgIeehhAmiSyH1BtiMkix23xtP
4OcueNmGWop+G5hte+jfj3VVQH8WgNSIknKTA0yMpMRtUuUlIMkGmYCsGPWIEZQD
4YTw310SNH/tahvhFHpIQrmDBUB28eOP+4lWIcUuy/WoX25Ig83CLDDh2QGWTDiq
qYY87q2luTQOsbcgTrz7orp92zEa6ZSaTlgkOMhO1L9mYXiJh3u1Om1R8hY/XUSH
G3lgr9ZckSqdL/kcnYFZ9qcBLDzR
-----END CERTIFICATE-----
`;

describe('sshFingerprint', () => {
  it('matches Nova and ssh-keygen for RSA, Ed25519 and ECDSA keys', () => {
    expect(sshFingerprint(RSA_SAMPLE)).toBe('1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c');
    expect(sshFingerprint(`${RSA_SAMPLE}\n`)).toBe('1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c');
    expect(sshFingerprint(ED25519)).toBe('1a:9f:72:2c:0e:96:fb:eb:5c:25:b3:f0:46:c7:96:4a');
    expect(sshFingerprint(ECDSA_256)).toBe('9c:4b:27:bb:4d:21:7c:6f:08:97:7d:6e:18:65:df:cf');
    expect(sshFingerprint(ECDSA_521)).toBe('1d:5a:e3:ef:92:5d:16:1d:f2:ab:70:d7:7e:28:eb:fe');
  });

  it('accepts a key without a comment', () => {
    expect(sshFingerprint(ED25519.split(' ').slice(0, 2).join(' '))).toBe('1a:9f:72:2c:0e:96:fb:eb:5c:25:b3:f0:46:c7:96:4a');
  });

  it.each([
    ['garbage', 'not a key at all'],
    ['empty', ''],
    ['truncated blob', RSA_SAMPLE.slice(0, 60)],
    ['type that does not match the blob', ED25519.replace('ssh-ed25519', 'ssh-rsa')],
    ['unsupported type', 'ssh-dss AAAAB3NzaC1kc3MAAACBAP8= x'],
    ['extra bytes after the key', `ssh-ed25519 ${Buffer.concat([Buffer.from(ED25519.split(' ')[1], 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64')}`],
    ['ECDSA point off the curve', ECDSA_256.replace('FytIHCKrsKZ', 'FytIHCKrsKA')],
  ])('rejects %s with Nova\'s 400', (_name, key) => {
    expect(() => sshFingerprint(key)).toThrow(InvalidKeypair);
    expect(() => sshFingerprint(key)).toThrow('Keypair data is invalid: failed to generate fingerprint');
  });
});

describe('x509Fingerprint', () => {
  it('is the colon-separated lower-case SHA-1 of the certificate', () => {
    expect(x509Fingerprint(CERT)).toBe('09:b2:84:11:b9:a4:a1:39:c3:5b:67:30:0a:30:e7:f3:f0:d2:59:96');
  });

  it('rejects what is not a certificate', () => {
    expect(() => x509Fingerprint(ED25519)).toThrow(/^Keypair data is invalid: failed to generate X509 fingerprint/);
  });
});

describe('generateSshKeypair', () => {
  it('returns an OpenSSH public key that belongs to the PKCS#1 private key, with its fingerprint', () => {
    const kp = generateSshKeypair();
    expect(kp.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(kp.publicKey).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E\S+ Generated-by-Nova\n$/);
    expect(sshFingerprint(kp.publicKey)).toBe(kp.fingerprint);
    const fromPrivate = createPublicKey(createPrivateKey(kp.privateKey)).export({ format: 'jwk' });
    expect(fromPrivate.kty).toBe('RSA');
    // The blob carries n after e; both must come from the private key.
    const blob = Buffer.from(kp.publicKey.split(' ')[1], 'base64');
    expect(blob.includes(Buffer.from(fromPrivate.n as string, 'base64url'))).toBe(true);
  });
});

describe('checkKeypairName', () => {
  it('allows letters, digits, spaces, dashes and underscores', () => {
    expect(() => checkKeypairName('my key_1-a')).not.toThrow();
  });

  it.each(['bad/name', 'dots.are.not.allowed', 'x'.repeat(256), 'ümlaut'])('rejects %s', (name) => {
    expect(() => checkKeypairName(name)).toThrow(/^Keypair data is invalid: Keypair name/);
  });
});
