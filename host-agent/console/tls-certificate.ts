import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFiles {
  cert: string;
  key: string;
  /** Where the certificate came from, for the log. */
  source: string;
}

/**
 * The console proxy's certificate and key: the configured files on a metal host; otherwise a
 * self-signed pair for the console address's host name, made with openssl at first start and
 * kept in `dir` (a browser warns about it once; tests trust it by its file).
 */
export async function consoleTlsFiles(o: { certFile?: string; keyFile?: string; dir: string; hostName: string }): Promise<TlsFiles> {
  if (o.certFile || o.keyFile) {
    if (!o.certFile || !o.keyFile) throw new Error('console.cert_file and console.key_file go together');
    return { cert: await readFile(o.certFile, 'utf8'), key: await readFile(o.keyFile, 'utf8'), source: o.certFile };
  }
  const certPath = join(o.dir, 'tls.crt');
  const keyPath = join(o.dir, 'tls.key');
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8'), source: certPath };
  } catch {
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    const san = isIP(o.hostName) ? `IP:${o.hostName}` : `DNS:${o.hostName}`;
    // Made aside and renamed: an agent killed half-way leaves no key without its certificate.
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', `/CN=${o.hostName}`, '-addext', `subjectAltName=${san}`,
      '-keyout', `${keyPath}.tmp`, '-out', `${certPath}.tmp`,
    ]);
    await rename(`${keyPath}.tmp`, keyPath);
    await rename(`${certPath}.tmp`, certPath);
    await rm(`${keyPath}.tmp`, { force: true });
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8'), source: `${certPath} (self-signed, made now)` };
  }
}
