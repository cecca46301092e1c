import type { KMSClient } from '@aws-sdk/client-kms';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { buildDeviceCertificate, checkCsr } from '../domain/certificates.js';
import { ConflictError, StateConflictError } from '../domain/errors.js';
import { authorizationOf } from './authorizations.js';
import { getCaSigningMaterial, kmsDerSigner } from './certificate-authorities.js';
import { type Db, getItems, isConditionFailure } from './db.js';
import { activeProgrammer } from './device.js';
import { withFaultRetry } from './faults.js';
import { keys } from './keys.js';
import { toReportedState } from './results.js';

export interface IssueDeviceCertificateInput {
  accountId: string;
  programmerId: string;
  authorizationId: string;
  serial: string;
  csr: string;
}

export interface DeviceCertificateView {
  certificatePem: string;
  /** The chain above the unit's certificate: the CA's self-signed certificate. */
  chainPem: string;
}

function samePublicKey(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * POST /v1/device/certificates: a unit's certificate from the CA of its job's certificate field,
 * idempotent by (authorization, serial). Only the programmer holding the authorization may ask
 * (another's is a 404, as everything of another account), only for a serial it granted, only
 * when its job has a certificate field. The certificate is stored before it is answered, under
 * `attribute_not_exists`: of two concurrent first requests one stores, and both answer the
 * stored one. A second request with another key for the same unit is refused, never re-issued.
 */
export async function issueDeviceCertificate(db: Db, kms: KMSClient, input: IssueDeviceCertificateInput): Promise<{ certificate: DeviceCertificateView; created: boolean }> {
  const certificateKey = keys.deviceCertificate(input.accountId, input.authorizationId, input.serial);
  const [programmerItem, authorizationItem, storedItem, reportedItem] = await getItems(
    db,
    db.table,
    [keys.programmer(input.accountId, input.programmerId), keys.authorization(input.accountId, input.authorizationId), certificateKey, keys.reportedUnits(input.accountId, input.authorizationId)],
    true,
  );
  activeProgrammer(programmerItem);
  const authorization = authorizationOf(input.programmerId, authorizationItem);
  const field = authorization.unitFields.find((candidate) => candidate.kind === 'certificate');
  if (!field) {
    throw new ConflictError('no_certificate_field', 'The job of this authorization has no certificate field: its units get no certificates', { authorizationId: input.authorizationId });
  }
  const unit = authorization.serials.indexOf(input.serial);
  if (unit < 0) {
    throw new StateConflictError('serial_not_in_authorization', `Serial ${input.serial} was not granted by this authorization`, [{ path: 'serial', message: 'is not one of the serials this authorization granted' }]);
  }
  // A released authorization's unreported units went back to the job: no identity for a unit the
  // cloud records as never programmed (a result for it is refused the same way).
  const reported = toReportedState(authorization.units, reportedItem);
  if (!storedItem && reported.released && !reported.set.has(unit)) {
    throw new ConflictError('authorization_released', `Authorization ${input.authorizationId} was released; serial ${input.serial} went back to the job`, {
      authorizationId: input.authorizationId,
      serials: [input.serial],
    });
  }
  // Read only once the caller is known to hold this unit: another's authorization is a 404 whatever it sends.
  const csr = await checkCsr(input.csr);
  const stored = storedItem ?? (await issueOnce(db, kms, input, certificateKey, field.sourceId, csr.publicKeySpki, authorization.uids?.[unit]));
  if (!samePublicKey(stored.publicKeySpki as Uint8Array, csr.publicKeySpki)) {
    throw new ConflictError('certificate_already_issued', 'This unit already has a certificate for another key; a unit gets one certificate', { serial: input.serial });
  }
  return { certificate: { certificatePem: stored.certificatePem as string, chainPem: stored.chainPem as string }, created: storedItem === undefined && stored.issuedNow === true };
}

async function issueOnce(
  db: Db,
  kms: KMSClient,
  input: IssueDeviceCertificateInput,
  certificateKey: { pk: string; sk: string },
  certificateAuthorityId: string,
  publicKeySpki: Uint8Array,
  uid: string | undefined,
): Promise<Record<string, unknown>> {
  const ca = await getCaSigningMaterial(db, input.accountId, certificateAuthorityId);
  const certificatePem = await buildDeviceCertificate({
    caCertificatePem: ca.certificatePem,
    csr: { publicKeySpki },
    serial: input.serial,
    uid,
    sign: kmsDerSigner(kms, ca.kmsKeyId),
  });
  const item = { ...certificateKey, type: 'deviceCertificate', certificateAuthorityId, certificatePem, chainPem: ca.certificatePem, publicKeySpki, ...(uid && { uid }), issuedAt: new Date().toISOString() };
  try {
    await withFaultRetry(() => db.doc.send(new PutCommand({ TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
    return { ...item, issuedNow: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // A concurrent request for the same unit stored first: its certificate is the unit's.
    const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: certificateKey, ConsistentRead: true })));
    if (!Item) throw error;
    return Item;
  }
}
