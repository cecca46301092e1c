import { CreateKeyCommand, GetPublicKeyCommand, type KMSClient, ScheduleKeyDeletionCommand, SignCommand } from '@aws-sdk/client-kms';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { CA_KEY_TAG } from '../config.js';
import { type DerSigner, buildCaCertificate, parseSubject } from '../domain/certificates.js';
import { NotFoundError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import * as x509 from '../domain/x509.js';
import { auditItem } from './audit.js';
import type { Db } from './db.js';
import { withFaultRetry } from './faults.js';
import { SK_PREFIX, keys } from './keys.js';
import { type Page, type PageRequest, accountPage } from './pages.js';

export interface CertificateAuthorityView {
  certificateAuthorityId: string;
  name: string;
  subject: string;
  certificatePem: string;
  notBefore: string;
  notAfter: string;
  createdAt: string;
}

/** What issuing a device certificate needs of a CA: its certificate and the KMS key that signs for it. */
export interface CaSigningMaterial {
  certificatePem: string;
  kmsKeyId: string;
}

export interface CaKeys {
  kms: KMSClient;
  /** The deployment's value of the CA_KEY_TAG tag: IAM lets the functions use only keys that carry it. */
  tagValue: string;
}

function toView(item: Record<string, unknown>): CertificateAuthorityView {
  return {
    certificateAuthorityId: item.certificateAuthorityId as string,
    name: item.name as string,
    subject: item.subject as string,
    certificatePem: item.certificatePem as string,
    notBefore: item.notBefore as string,
    notAfter: item.notAfter as string,
    createdAt: item.createdAt as string,
  };
}

/** KMS Sign (ECDSA P-256, SHA-256 over the message) with one CA's key: the private half never leaves KMS. */
export function kmsDerSigner(kms: KMSClient, keyId: string): DerSigner {
  return async (message) => {
    const { Signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
    if (!Signature) throw new Error('KMS returned no signature');
    return Signature;
  };
}

/**
 * A certificate authority: a new KMS key (ECC_NIST_P256, SIGN_VERIFY, one per CA, tagged with
 * the deployment and the account) and its self-signed certificate, signed through KMS. The
 * subject is checked before any key exists. If recording the CA fails after the key was
 * created, the key is scheduled for deletion (the shortest window, 7 days): nothing was ever
 * signed by it but the certificate that was never stored.
 */
export async function createCertificateAuthority(db: Db, caKeys: CaKeys, accountId: string, input: { name: string; subject: string }, actor: string): Promise<CertificateAuthorityView> {
  parseSubject(input.subject);
  const certificateAuthorityId = newId('ca');
  const { KeyMetadata } = await caKeys.kms.send(
    new CreateKeyCommand({
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      Description: `Flashline certificate authority ${certificateAuthorityId} of account ${accountId}`,
      Tags: [
        { TagKey: CA_KEY_TAG, TagValue: caKeys.tagValue },
        { TagKey: 'flashline-account', TagValue: accountId },
        { TagKey: 'flashline-certificate-authority', TagValue: certificateAuthorityId },
      ],
    }),
  );
  const kmsKeyId = KeyMetadata?.KeyId;
  if (!kmsKeyId) throw new Error('KMS created no key');
  try {
    const { PublicKey } = await caKeys.kms.send(new GetPublicKeyCommand({ KeyId: kmsKeyId }));
    if (!PublicKey) throw new Error('KMS returned no public key');
    const certificatePem = await buildCaCertificate({ subject: input.subject, publicKeySpki: PublicKey, sign: kmsDerSigner(caKeys.kms, kmsKeyId) });
    const certificate = new x509.X509Certificate(certificatePem);
    const at = new Date().toISOString();
    const item = {
      ...keys.certificateAuthority(accountId, certificateAuthorityId),
      type: 'certificateAuthority',
      certificateAuthorityId,
      name: input.name,
      subject: certificate.subject,
      kmsKeyId,
      certificatePem,
      notBefore: certificate.notBefore.toISOString(),
      notAfter: certificate.notAfter.toISOString(),
      createdAt: at,
    };
    await withFaultRetry(() =>
      db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
            auditItem(db, { accountId, actor, action: 'certificate_authority.create', targetType: 'certificateAuthority', targetId: certificateAuthorityId, details: { name: input.name, subject: item.subject } }, at),
          ],
        }),
      ),
    );
    return toView(item);
  } catch (error) {
    await caKeys.kms.send(new ScheduleKeyDeletionCommand({ KeyId: kmsKeyId, PendingWindowInDays: 7 })).catch(() => undefined);
    throw error;
  }
}

async function readCa(db: Db, accountId: string, certificateAuthorityId: string): Promise<Record<string, unknown>> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: keys.certificateAuthority(accountId, certificateAuthorityId) })));
  if (!Item) throw new NotFoundError('Certificate authority');
  return Item;
}

export async function getCertificateAuthority(db: Db, accountId: string, certificateAuthorityId: string): Promise<CertificateAuthorityView> {
  return toView(await readCa(db, accountId, certificateAuthorityId));
}

export async function getCaSigningMaterial(db: Db, accountId: string, certificateAuthorityId: string): Promise<CaSigningMaterial> {
  const item = await readCa(db, accountId, certificateAuthorityId);
  return { certificatePem: item.certificatePem as string, kmsKeyId: item.kmsKeyId as string };
}

export function listCertificateAuthorities(db: Db, accountId: string, page: PageRequest): Promise<Page<CertificateAuthorityView>> {
  return accountPage(db, accountId, SK_PREFIX.certificateAuthority, page, toView);
}

/** A job may name a CA only of its own account: read for its existence, nothing of it is copied into the job. */
export async function assertCertificateAuthorityExists(db: Db, accountId: string, certificateAuthorityId: string): Promise<void> {
  await readCa(db, accountId, certificateAuthorityId);
}
