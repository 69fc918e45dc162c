/**
 * Certificates made for a test with the openssl CLI: a CA and leaves it signs (P-256, valid two days, SAN
 * localhost and 127.0.0.1, usable as server and client certificates). A missing openssl fails the test.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  cert: string;
  key: string;
}

export interface TestCa {
  /** The CA certificate file. */
  cert: string;
  /** Issues `<name>.crt` / `<name>.key` in the CA's directory. */
  issue(name: string): TestCertificate;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed (is the openssl CLI installed?): ${(error as Error).message}`);
  }
}

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCa(dir: string, name: string): TestCa {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(
    [
      'req',
      '-x509',
      ...CURVE,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  return {
    cert,
    issue(leaf: string): TestCertificate {
      const leafKey = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const leafCert = join(dir, `${leaf}.crt`);
      openssl(['req', ...CURVE, '-keyout', leafKey, '-out', csr, '-subj', `/CN=${leaf}`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          cert,
          '-CAkey',
          key,
          '-CAcreateserial',
          '-out',
          leafCert,
          '-days',
          '2',
          '-extfile',
          ext,
        ],
        dir,
      );
      return { cert: leafCert, key: leafKey };
    },
  };
}
