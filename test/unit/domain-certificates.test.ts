import { execFileSync } from 'node:child_process';
import { X509Certificate, createSign, generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCaCertificate, buildDeviceCertificate, checkCsr, parseSubject } from '../../shared/domain/certificates.js';
import { ValidationError } from '../../shared/domain/errors.js';
import * as x509 from '../../shared/domain/x509.js';
import { deviceCsr } from '../support/device-keys.js';

/** A CA key held in memory, signing as KMS Sign does (DER ECDSA over SHA-256 of the message). */
function localCaKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sign = async (message: Uint8Array) => new Uint8Array(createSign('SHA256').update(message).sign(privateKey));
  return { publicKeySpki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })), sign };
}

function openssl(caPem: string, leafPem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'flashline-certs-'));
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, 'leaf.pem'), leafPem);
  return execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('device certificates (X.509 through a signer that stands for KMS)', () => {
  it('builds a self-signed CA certificate that node:crypto and openssl accept as a CA', async () => {
    const key = localCaKey();
    const pem = await buildCaCertificate({ subject: 'CN=Acme Device CA, O=Acme', publicKeySpki: key.publicKeySpki, sign: key.sign });
    const ca = new X509Certificate(pem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=Acme Device CA\nO=Acme');
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(Buffer.from(ca.publicKey.export({ format: 'der', type: 'spki' })).equals(Buffer.from(key.publicKeySpki))).toBe(true);
  });

  it("issues a unit's certificate that chains to the CA and binds its serial and UID", async () => {
    const key = localCaKey();
    const caPem = await buildCaCertificate({ subject: 'CN=Acme Device CA', publicKeySpki: key.publicKeySpki, sign: key.sign });
    const device = await deviceCsr('CN=claims-to-be-anything');
    const csr = await checkCsr(device.csrPem);
    const pem = await buildDeviceCertificate({ caCertificatePem: caPem, csr, serial: 'SN-00000042', uid: '04A1B2C3D4E5F6', sign: key.sign });
    const leaf = new X509Certificate(pem);
    const ca = new X509Certificate(caPem);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.subject).toBe('CN=SN-00000042\nserialNumber=SN-00000042\nUID=04A1B2C3D4E5F6');
    expect(leaf.subjectAltName).toBe('URI:urn:flashline:serial:SN-00000042, URI:urn:flashline:uid:04A1B2C3D4E5F6');
    expect(Buffer.from(leaf.publicKey.export({ format: 'der', type: 'spki' })).equals(Buffer.from(device.publicKeySpki))).toBe(true);
    expect(openssl(caPem, pem)).toContain('OK');
  });

  it('names only the serial when the unit has no UID, and another CA does not verify it', async () => {
    const key = localCaKey();
    const other = localCaKey();
    const caPem = await buildCaCertificate({ subject: 'CN=Line CA', publicKeySpki: key.publicKeySpki, sign: key.sign });
    const otherPem = await buildCaCertificate({ subject: 'CN=Line CA', publicKeySpki: other.publicKeySpki, sign: other.sign });
    const pem = await buildDeviceCertificate({ caCertificatePem: caPem, csr: await checkCsr((await deviceCsr()).csrPem), serial: 'A B/1', sign: key.sign });
    const leaf = new X509Certificate(pem);
    expect(leaf.subjectAltName).toBe('URI:urn:flashline:serial:A%20B%2F1');
    expect(leaf.verify(new X509Certificate(otherPem).publicKey)).toBe(false);
    expect(() => openssl(otherPem, pem)).toThrow();
  });

  it('refuses a CSR that is not PEM, not self-signed by its key, or not P-256, naming csr', async () => {
    const issueOf = async (pem: string) => {
      const error = await checkCsr(pem).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).details?.issues as { path: string; message: string }[];
    };
    expect((await issueOf('hello'))[0]?.path).toBe('csr');
    // The signature of one request over another's content: the self-signature fails.
    const good = await deviceCsr();
    const der = Buffer.from(good.csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der.writeUInt8(der.readUInt8(der.length - 5) ^ 0x01, der.length - 5);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----`;
    expect((await issueOf(tampered))[0]?.message).toMatch(/not signed|PKCS#10/);
    const p384 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
    const p384Csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: p384, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } }, webcrypto as unknown as Crypto);
    expect((await issueOf(p384Csr.toString('pem')))[0]?.message).toContain('P-256');
  });

  it('refuses a subject that is no distinguished name or has no CN, naming subject', () => {
    expect(() => parseSubject('O=Acme')).toThrow(ValidationError);
    expect(() => parseSubject('not a dn')).toThrow(ValidationError);
    expect(parseSubject('CN=Acme CA, O=Acme').toString()).toBe('CN=Acme CA, O=Acme');
  });
});
