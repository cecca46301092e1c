import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { withFaultRetry } from './faults.js';
import { keys } from './keys.js';

/** KMS binds an account's data key to the account: a key item copied to another account does not decrypt. */
export const dataKeyContext = (accountId: string) => ({ flashlineAccount: accountId });

/**
 * Each account's AES-256 data key (envelope encryption of data-list secrets): stored encrypted by
 * the deployment's KMS data key on the account's DATAKEY item, decrypted once per container and
 * kept in memory. Only Decrypt here (the authorizations function's bundle holds no other KMS call); the
 * key is created with the account's first data list (store/data-lists.ts).
 */
export class AccountDataKeys {
  private readonly open = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly db: Db,
    private readonly kms: KMSClient,
  ) {}

  keyFor(accountId: string): Promise<Uint8Array> {
    let key = this.open.get(accountId);
    if (!key) {
      key = this.load(accountId);
      key.catch(() => this.open.delete(accountId));
      this.open.set(accountId, key);
    }
    return key;
  }

  /** A key this container generated: no need to ask KMS for what it just handed us. */
  remember(accountId: string, plaintext: Uint8Array): void {
    this.open.set(accountId, Promise.resolve(plaintext));
  }

  private async load(accountId: string): Promise<Uint8Array> {
    const { Item } = await withFaultRetry(() => this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.accountDataKey(accountId), ConsistentRead: true })));
    if (!Item) throw new Error(`account ${accountId} has no data key`);
    const { Plaintext } = await this.kms.send(new DecryptCommand({ CiphertextBlob: Item.encryptedKey as Uint8Array, EncryptionContext: dataKeyContext(accountId) }));
    if (!Plaintext) throw new Error('KMS returned no plaintext');
    return Plaintext;
  }
}
