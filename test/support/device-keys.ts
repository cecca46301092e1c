import { webcrypto } from 'node:crypto';
import * as x509 from '../../shared/domain/x509.js';

/** A device's P-256 key pair and its PKCS#10 request (PEM), as a programmer makes one per unit. */
export async function deviceCsr(subject = 'CN=device'): Promise<{ csrPem: string; publicKeySpki: Uint8Array }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } }, webcrypto as unknown as Crypto);
  return { csrPem: csr.toString('pem'), publicKeySpki: new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey)) };
}
