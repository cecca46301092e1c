import { randomUUID } from 'node:crypto';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { createAccount } from '../../shared/store/accounts.js';
import { AccountDataKeys } from '../../shared/store/account-data-keys.js';
import { authorizeUnits } from '../../shared/store/authorizations.js';
import { createDocumentClient, createKmsClient, createS3Client } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import { type DataListDeps, createDataList, getDataList, uploadRowsInline } from '../../shared/store/data-lists.js';
import type { Db } from '../../shared/store/db.js';
import { ImageObjects } from '../../shared/store/image-objects.js';
import { registerImage } from '../../shared/store/images.js';
import { keys } from '../../shared/store/keys.js';
import { provisionProgrammer } from '../../shared/store/programmers.js';
import { KmsJwsSigner } from '../../shared/store/signer.js';
import { heldValuesOf } from '../../shared/store/unit-fields.js';

/**
 * Data lists against the emulator's DynamoDB and KMS: rows sealed with a real per-account data
 * key, and many concurrent authorizations on two jobs sharing a list never sharing a row.
 */
describe('data lists on the emulator', () => {
  let db: Db;
  let deps: DataListDeps;
  let signer: KmsJwsSigner;
  let objects: ImageObjects;
  let accountId: string;
  let factoryId: string;
  const programmers: string[] = [];

  beforeAll(async () => {
    Object.assign(process.env, EMULATOR_AWS_ENV);
    db = { doc: createDocumentClient(), table: inject('tableName'), events: inject('eventsTableName'), cursors: NO_CURSORS };
    const kms = createKmsClient();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'data lists integration test' }));
    deps = { db, kms, dataKeyId: KeyMetadata!.KeyId!, dataKeys: new AccountDataKeys(db, kms) };
    signer = new KmsJwsSigner(kms, inject('signingKeyId'));
    objects = new ImageObjects(createS3Client(), inject('imagesBucketName'));
    ({ account: { accountId, defaultFactoryId: factoryId } } = await createAccount(db, `Data lists ${randomUUID()}`));
    for (let i = 0; i < 4; i += 1) programmers.push((await provisionProgrammer(db, accountId, { name: `P${i}`, hardwareSerial: randomUUID() }, 'test')).programmer.programmerId);
  });

  it('stores secret columns sealed, and 24 concurrent authorizations on two jobs never share a row', async () => {
    const list = await createDataList(deps, accountId, { name: 'Keys', columns: [{ name: 'label' }, { name: 'key', secret: true }] }, 'test');
    const content = ['label,key', ...Array.from({ length: 150 }, (_, i) => `L${i},secret-${i}-${randomUUID()}`)].join('\n');
    expect(await uploadRowsInline(deps, accountId, list.dataListId, { format: 'csv', content }, 'test')).toMatchObject({ status: 'ready', total: 150 });
    const { Item: stored } = await db.doc.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: db.table, Key: keys.dataList(accountId, list.dataListId), ConsistentRead: true }));
    const chunk = await db.doc.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: db.table, Key: keys.dataListChunk(accountId, list.dataListId, stored!.uploadId, 0), ConsistentRead: true }));
    expect(JSON.stringify(chunk.Item!.plain)).toContain('L0');
    expect(JSON.stringify(chunk.Item)).not.toContain('secret-0-');

    const jobs: string[] = [];
    for (let j = 0; j < 2; j += 1) {
      jobs.push(
        (
          await registerImage(
            { db, signer, objects },
            accountId,
            { name: 'Listed', factoryId, contentSha256: 'd'.repeat(64), sizeBytes: 10, delivery: 'direct', unitFields: [{ name: 'cred', source: { dataList: list.dataListId } }] },
            'test',
          )
        ).job.jobId,
      );
    }
    // A fresh container's view: the data key is read from the account and decrypted through KMS.
    const deviceKeys = new AccountDataKeys(db, deps.kms);
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        authorizeUnits({ db, tickets: signer, bindings: signer, dataKeys: deviceKeys }, { accountId, programmerId: programmers[i % 4]!, jobId: jobs[i % 2]!, units: (i % 5) + 1, nonce: randomUUID() }),
      ),
    );
    const rows = outcomes.flatMap(({ authorization }) => authorization.unitData.map((unit) => `${unit.fields['cred.label']}|${unit.fields['cred.key']}`));
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows.every((row) => /^L(\d+)\|secret-\1-/.test(row))).toBe(true);
    // Issued = handed out + what this process holds for its next takers (at most a 64th of what was left).
    const held = heldValuesOf(keys.dataList(accountId, list.dataListId));
    expect(held).toBeLessThanOrEqual(Math.floor(150 / 64));
    expect(await getDataList(db, accountId, list.dataListId)).toMatchObject({ issued: rows.length + held, remaining: 150 - rows.length - held, returned: 0 });
  });
});
