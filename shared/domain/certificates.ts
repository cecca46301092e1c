/**
 * Device certificates (api.md "Per-unit data"): X.509 built with @peculiar/x509, signed by a
 * key that never leaves KMS. The library signs through WebCrypto; `signingCrypto` hands it a
 * Crypto whose `subtle.sign` calls the given signer (KMS Sign in production) for our one
 * stand-in key and converts KMS's DER ECDSA signature into WebCrypto's r||s form, everything
 * else (digests for key identifiers, key import) going to Node's WebCrypto. No I/O here
 * beyond the signer passed in.
 */
import { webcrypto } from 'node:crypto';
import { ValidationError } from './errors.js';
import { derToJoseSignature } from './jws.js';
import * as x509 from './x509.js';

/** Signs the DER bytes given with ECDSA P-256 / SHA-256 and answers the DER signature (what KMS Sign answers). */
export type DerSigner = (message: Uint8Array) => Promise<Uint8Array>;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The CA key as WebCrypto sees it: a private P-256 key whose signing goes to the signer. */
const KMS_HELD_KEY = { type: 'private', extractable: false, algorithm: ECDSA_P256, usages: ['sign'] } as unknown as CryptoKey;

function signingCrypto(sign: DerSigner): Crypto {
  const subtle = webcrypto.subtle;
  const kmsSubtle = new Proxy(subtle, {
    get(target, property) {
      if (property === 'sign') {
        return async (algorithm: unknown, key: CryptoKey, data: BufferSource) => {
          if (key !== KMS_HELD_KEY) return target.sign(algorithm as EcdsaParams, key, data);
          const message = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          return new Uint8Array(derToJoseSignature(await sign(message))).buffer;
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { subtle: kmsSubtle, getRandomValues: webcrypto.getRandomValues.bind(webcrypto), randomUUID: webcrypto.randomUUID.bind(webcrypto) } as unknown as Crypto;
}

/** A CA certificate is valid 25 years, a device certificate 20 (devices outlive their factory runs; nothing here revokes). */
const CA_VALIDITY_YEARS = 25;
const DEVICE_VALIDITY_YEARS = 20;
/** Clock skew between the cloud and a device fresh from the line, which may not have set its clock yet. */
const BACKDATE_MS = 5 * 60_000;

function yearsAfter(date: Date, years: number): Date {
  const later = new Date(date);
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}

/** A subject as the API takes it ("CN=Acme Device CA, O=Acme"), checked: a bad one is a 400 naming `subject`. */
export function parseSubject(subject: string): x509.Name {
  let name: x509.Name;
  try {
    name = new x509.Name(subject);
  } catch (error) {
    throw new ValidationError([{ path: 'subject', message: `is not a distinguished name (${error instanceof Error ? error.message : 'unreadable'}), e.g. "CN=Acme Device CA, O=Acme"` }]);
  }
  if (!name.getField('CN').length) throw new ValidationError([{ path: 'subject', message: 'must name a common name (CN=…)' }]);
  return name;
}

/** The self-signed certificate of a CA whose key is `publicKeySpki` (KMS GetPublicKey) and whose signatures come from `sign`. */
export async function buildCaCertificate(input: { subject: string; publicKeySpki: Uint8Array; sign: DerSigner; now?: Date }): Promise<string> {
  const name = parseSubject(input.subject);
  const crypto = signingCrypto(input.sign);
  const now = input.now ?? new Date();
  const publicKey = new x509.PublicKey(new Uint8Array(input.publicKeySpki));
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: name,
      issuer: name,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: yearsAfter(now, CA_VALIDITY_YEARS),
      publicKey,
      signingKey: KMS_HELD_KEY,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        // Signs device certificates only: no intermediate CAs below it.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}

/** What a device's CSR gives us: its public key, once the request's own signature proved the device holds the private half. */
export interface CheckedCsr {
  publicKeySpki: Uint8Array;
}

const badCsr = (message: string) => new ValidationError([{ path: 'csr', message }]);

/**
 * A unit's PKCS#10 request, checked: PEM (or base64 DER) that parses, a P-256 EC key (the one
 * key type devices get here), and a valid self-signature. Its subject is ignored: the
 * certificate names the unit's serial and UID as the cloud granted them, not as the device claims.
 */
export async function checkCsr(pem: string): Promise<CheckedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem.trim());
  } catch {
    throw badCsr('is not a PKCS#10 certificate request (PEM "-----BEGIN CERTIFICATE REQUEST-----")');
  }
  const algorithm = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw badCsr(`must carry an EC P-256 public key (this one is ${algorithm.name}${algorithm.namedCurve ? ` ${algorithm.namedCurve}` : ''})`);
  }
  let verified = false;
  try {
    verified = await csr.verify(webcrypto as unknown as Crypto);
  } catch {
    verified = false;
  }
  if (!verified) throw badCsr('is not signed by the private key of the public key it carries');
  return { publicKeySpki: new Uint8Array(csr.publicKey.rawData) };
}

function caKeyId(ca: x509.X509Certificate): string {
  const keyId = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (!keyId) throw new Error('The CA certificate has no subject key identifier');
  return keyId;
}

/** The names a device certificate binds: the serial always, the chip UID when the authorization carried one. */
export function deviceSubjectAltNames(serial: string, uid?: string): string[] {
  return [`urn:flashline:serial:${encodeURIComponent(serial)}`, ...(uid ? [`urn:flashline:uid:${uid}`] : [])];
}

/**
 * A unit's certificate: subject `CN=<serial>, serialNumber=<serial>` (plus the UID as
 * `UID=<hex>` when known), the same in URIs of the subjectAltName, for TLS client
 * authentication, issued by the CA whose certificate is `caCertificatePem`.
 */
export async function buildDeviceCertificate(input: {
  caCertificatePem: string;
  csr: CheckedCsr;
  serial: string;
  uid?: string;
  sign: DerSigner;
  now?: Date;
}): Promise<string> {
  const crypto = signingCrypto(input.sign);
  const ca = new x509.X509Certificate(input.caCertificatePem);
  const now = input.now ?? new Date();
  const subject = new x509.Name([
    { CN: [input.serial] },
    { '2.5.4.5': [input.serial] },
    ...(input.uid ? [{ '0.9.2342.19200300.100.1.1': [input.uid] }] : []),
  ]);
  const publicKey = new x509.PublicKey(new Uint8Array(input.csr.publicKeySpki));
  const notAfter = yearsAfter(now, DEVICE_VALIDITY_YEARS);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject,
      issuer: ca.subjectName,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      // Never beyond the CA's own validity.
      notAfter: notAfter < ca.notAfter ? notAfter : ca.notAfter,
      publicKey,
      signingKey: KMS_HELD_KEY,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(deviceSubjectAltNames(input.serial, input.uid).map((value) => ({ type: 'url' as const, value }))),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
        new x509.AuthorityKeyIdentifierExtension(caKeyId(ca)),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}
