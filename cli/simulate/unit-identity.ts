/**
 * What a simulated programmer reads from and makes for each chip: a fake but deterministic UID
 * (for jobs with a uidPolicy), and a P-256 key with its CSR (for jobs with a certificate field),
 * whose certificate it checks against the chain the cloud returns.
 */
import { X509Certificate, createHash, webcrypto } from 'node:crypto';
import * as x509 from '../../shared/domain/x509.js';

/** 8 bytes of hex from the seed, the programmer, the job and the unit's place in this programmer's run: the same run reads the same chips. */
export function fakeChipUid(seed: string, programmerId: string, jobId: string, unit: number): string {
  return createHash('sha256').update(`${seed}\n${programmerId}\n${jobId}\n${unit}`).digest('hex').slice(0, 16).toUpperCase();
}

/** A new P-256 key pair kept by the "device", and its PKCS#10 request (PEM). */
export async function deviceKeyRequest(serial: string): Promise<{ csrPem: string; publicKeySpki: Buffer }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: [serial] }], keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } },
    webcrypto as unknown as Crypto,
  );
  return { csrPem: csr.toString('pem'), publicKeySpki: Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)) };
}

/** Why a returned certificate is not the unit's: empty when it chains to the CA, certifies the device's key and binds its serial (and UID). */
export function certificateProblems(input: { certificatePem: string; chainPem: string; publicKeySpki: Buffer; serial: string; uid?: string }): string[] {
  const leaf = new X509Certificate(input.certificatePem);
  const ca = new X509Certificate(input.chainPem);
  const problems: string[] = [];
  if (!ca.ca || !ca.verify(ca.publicKey)) problems.push('the chain is not a self-signed CA certificate');
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) problems.push('the certificate does not chain to the CA');
  if (!Buffer.from(leaf.publicKey.export({ format: 'der', type: 'spki' })).equals(input.publicKeySpki)) problems.push("the certificate is not for the device's key");
  if (!leaf.subjectAltName?.includes(`urn:flashline:serial:${encodeURIComponent(input.serial)}`)) problems.push(`the certificate does not bind serial ${input.serial}`);
  if (input.uid && !leaf.subjectAltName?.includes(`urn:flashline:uid:${input.uid}`)) problems.push(`the certificate does not bind UID ${input.uid}`);
  return problems;
}
