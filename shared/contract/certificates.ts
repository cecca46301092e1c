import * as z from 'zod';
import { Id, ListQuery, Name, Timestamp, listOf } from './common.js';
import { defineRoute } from './route.js';

/**
 * Device certificates (api.md "Per-unit data"): certificate authorities whose keys KMS holds,
 * and the programmers' route that turns a unit's CSR into its certificate. Apart from device.ts:
 * the device function never loads these schemas; the certificate route has a function of its own.
 */
export const CertificateAuthority = z
  .object({
    certificateAuthorityId: Id,
    name: z.string(),
    subject: z.string().meta({ description: 'The CA certificate\'s subject, as a distinguished name' }),
    certificatePem: z.string().meta({ description: 'The self-signed CA certificate (PEM): the trust anchor of its device certificates' }),
    notBefore: Timestamp,
    notAfter: Timestamp,
    createdAt: Timestamp,
  })
  .meta({ id: 'CertificateAuthority' });

/** The attribute names a subject may use (those the certificate library knows), and a value without the separators and escapes of RFC 4514. */
const SUBJECT_ATTRIBUTE = '(?:CN|L|ST|O|OU|C|DC|E|G|I|SN|T)';
const SUBJECT_VALUE = '[^,+"\\\\<>;=#\\x00-\\x1f\\x7f]+';
/** `NAME=value` pairs joined by commas, one of them the CN: in the schema, so the document says what the server parses. */
export const SUBJECT = new RegExp(`^(?:${SUBJECT_ATTRIBUTE}=${SUBJECT_VALUE},\\s*)*CN=${SUBJECT_VALUE}(?:,\\s*${SUBJECT_ATTRIBUTE}=${SUBJECT_VALUE})*$`);

export const CreateCertificateAuthorityBody = z
  .object({
    name: Name,
    subject: z.string().min(3).max(512).regex(SUBJECT, 'must be NAME=value pairs joined by commas, one of them CN= (names CN, L, ST, O, OU, C, DC, E, G, I, SN, T; no , + " \\ < > ; = # in values)').meta({
      description:
        'Distinguished name of the CA, with a CN; RFC 4514 style without escapes, e.g. "CN=Acme Device CA, O=Acme, C=DE". Attribute names: CN, L, ST, O, OU, C, DC, E, G, I, SN, T.',
      examples: ['CN=Acme Device CA, O=Acme'],
    }),
  })
  .strict();

const CertificateAuthorityParams = z.object({ certificateAuthorityId: Id });

export const createCertificateAuthority = defineRoute({
  operationId: 'createCertificateAuthority',
  method: 'POST',
  path: '/v1/certificate-authorities',
  summary: 'Create a certificate authority: a new KMS-held P-256 key and its self-signed certificate (signed in KMS)',
  description:
    'Admin only: a CA is a trust anchor of the whole account (every device it certifies is trusted by whoever trusts it). ' +
    'Its private key never leaves KMS. The certificate is valid 25 years, pathLen 0 (it signs device certificates only). A bad subject is 400 naming `subject`.',
  access: { kind: 'account', minimumRole: 'admin' },
  body: CreateCertificateAuthorityBody,
  successStatus: 201,
  response: z.object({ certificateAuthority: CertificateAuthority }),
  idempotent: false,
});

export const listCertificateAuthorities = defineRoute({
  operationId: 'listCertificateAuthorities',
  method: 'GET',
  path: '/v1/certificate-authorities',
  summary: 'List the certificate authorities of the account, with their certificates',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(CertificateAuthority),
  idempotent: true,
});

export const getCertificateAuthority = defineRoute({
  operationId: 'getCertificateAuthority',
  method: 'GET',
  path: '/v1/certificate-authorities/{certificateAuthorityId}',
  summary: 'Read a certificate authority',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: CertificateAuthorityParams,
  successStatus: 200,
  response: z.object({ certificateAuthority: CertificateAuthority }),
  idempotent: true,
});

export const DeviceCertificate = z
  .object({
    certificatePem: z.string().meta({
      description:
        "The unit's certificate (PEM): subject CN and serialNumber = the unit's serial (and UID = its chip UID for a UID job), subjectAltName URIs " +
        'urn:flashline:serial:<serial> (URI-encoded) and urn:flashline:uid:<hex>, clientAuth, valid 20 years at most',
    }),
    chainPem: z.string().meta({ description: 'The certificates above it: the CA certificate (PEM)' }),
  })
  .meta({ id: 'DeviceCertificate' });

export const issueDeviceCertificate = defineRoute({
  operationId: 'issueDeviceCertificate',
  method: 'POST',
  path: '/v1/device/certificates',
  summary: "A unit's certificate for its CSR, from the CA of its job's certificate field; idempotent by (authorizationId, serial)",
  description:
    'Only for an authorization of this programmer (another\'s is 404), a serial it granted (else 409 serial_not_in_authorization), and a job with a certificate field ' +
    '(else 409 no_certificate_field). The CSR must be PEM PKCS#10 with an EC P-256 key and a valid self-signature (else 400 naming `csr`); its subject is ignored. ' +
    'A retry answers 200 with the stored certificate; a CSR with another key for a unit that has one is 409 certificate_already_issued.',
  access: { kind: 'programmer' },
  body: z
    .object({
      authorizationId: Id,
      serial: z.string().min(1).max(128),
      csr: z.string().min(1).max(8192).meta({ description: 'PEM "-----BEGIN CERTIFICATE REQUEST-----"' }),
    })
    .strict(),
  successStatus: 201,
  replayStatus: { status: 200, description: 'This unit already has its certificate: the stored one' },
  response: DeviceCertificate,
  errors: ['no_certificate_field', 'certificate_already_issued', 'programmer_disabled', 'serial_not_in_authorization', 'authorization_released'],
  idempotent: true,
});
