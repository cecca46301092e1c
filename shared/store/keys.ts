/**
 * Every DynamoDB key format of Flashline, in one place. Entities of an account all live under
 * the account's partition (`ACCT#…`), so a query can never wander into another tenant.
 *
 * Entity table (`pk`, `sk`, GSI `gsi1` on `gsi1pk`/`gsi1sk`):
 *   account            ACCT#{acct}            ACCOUNT
 *   factory            ACCT#{acct}            FAC#{fac}
 *   factory name lock  ACCT#{acct}            FACNAME#{normalized name}
 *   api key            ACCT#{acct}            KEY#{key}
 *   programmer         ACCT#{acct}            PRG#{prg}     gsi1: ACCT#{acct}#FAC#{fac} / PRG#{prg}
 * Events table (`pk`, `sk`, TTL on `expiresAt`):
 *   audit record       ACCT#{acct}#AUDIT      {iso time}#{id}
 */
export interface Key {
  pk: string;
  sk: string;
}

export const SK_PREFIX = {
  factory: 'FAC#',
  factoryName: 'FACNAME#',
  apiKey: 'KEY#',
  programmer: 'PRG#',
} as const;

const accountPk = (accountId: string) => `ACCT#${accountId}`;

export const keys = {
  account: (accountId: string): Key => ({ pk: accountPk(accountId), sk: 'ACCOUNT' }),
  factory: (accountId: string, factoryId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.factory}${factoryId}` }),
  factoryName: (accountId: string, name: string): Key => ({
    pk: accountPk(accountId),
    sk: `${SK_PREFIX.factoryName}${name.trim().toLowerCase()}`,
  }),
  apiKey: (accountId: string, keyId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.apiKey}${keyId}` }),
  programmer: (accountId: string, programmerId: string): Key => ({
    pk: accountPk(accountId),
    sk: `${SK_PREFIX.programmer}${programmerId}`,
  }),
  accountPartition: accountPk,
  factoryIndex: (accountId: string, factoryId: string) => `ACCT#${accountId}#FAC#${factoryId}`,
  programmerIndexSk: (programmerId: string) => `${SK_PREFIX.programmer}${programmerId}`,
  auditPartition: (accountId: string) => `ACCT#${accountId}#AUDIT`,
  audit: (accountId: string, at: string, auditId: string): Key => ({ pk: `ACCT#${accountId}#AUDIT`, sk: `${at}#${auditId}` }),
};
