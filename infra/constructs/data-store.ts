import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-log-bucket.js';

export interface DataStoreProps {
  /** RETAIN in production; DESTROY for throw-away stacks (local emulator, previews). */
  removalPolicy: RemovalPolicy;
  /** Origins allowed to PUT presigned uploads from a browser. */
  uploadCorsOrigins: string[];
}

const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'];
const TABLE_WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
/** What DynamoDB and S3 need of the data key on a caller's behalf. Explicit: no `kms:*Key*` wildcards. */
const DATA_KEY_USE = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];
/**
 * What the account (and through it, IAM policies) may do with a signing key: administer it and
 * read its public half. Not kms:Sign, and not kms:CreateGrant (a grant could hand Sign to
 * anyone): Sign is allowed by the key policy to one named role only.
 */
const SIGNING_KEY_ADMINISTRATION = [
  'kms:DescribeKey',
  'kms:GetPublicKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/**
 * Everything stateful: the entity table, the events table, the images bucket and the three KMS
 * keys (data at rest; the binding root key; the ticket root key that certifies session keys). Grants are explicit action lists (the generic `grant*` helpers of aws-cdk-lib add
 * wildcard actions such as `kms:ReEncrypt*` and `s3:GetObject*`).
 */
export class DataStore extends Construct {
  readonly dataKey: kms.Key;
  /** Signs image bindings (construct id `SigningKey`, kept so existing deployments keep their key). */
  readonly bindingKey: kms.Key;
  /** Certifies the device function's in-memory session keys, which sign tickets (api.md v1.1). */
  readonly ticketKey: kms.Key;
  private readonly signerOf = new Map<kms.Key, iam.IGrantable>();
  readonly table: dynamodb.TableV2;
  readonly eventsTable: dynamodb.TableV2;
  readonly imagesBucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataStoreProps) {
    super(scope, id);

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Flashline data at rest (DynamoDB, S3)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });

    this.bindingKey = this.signingRootKey('SigningKey', 'Flashline ES256 root key: signs image bindings', props.removalPolicy);
    this.ticketKey = this.signingRootKey('TicketKey', "Flashline ES256 root key: certifies the device function's ticket session keys", props.removalPolicy);

    const tableDefaults = {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.dataKey),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
    };

    this.table = new dynamodb.TableV2(this, 'EntityTable', {
      ...tableDefaults,
      globalSecondaryIndexes: [
        {
          indexName: 'gsi1',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    this.eventsTable = new dynamodb.TableV2(this, 'EventsTable', {
      ...tableDefaults,
      timeToLiveAttribute: 'expiresAt',
      globalSecondaryIndexes: [
        {
          indexName: 'gsi1',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    this.accessLogsBucket = new AccessLogBucket(this, 'AccessLogs', { removalPolicy: props.removalPolicy, logsOf: 'the images bucket' });

    this.imagesBucket = new s3.Bucket(this, 'Images', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.dataKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'images/',
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET],
          allowedOrigins: props.uploadCorsOrigins,
          allowedHeaders: ['content-type', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm'],
          maxAge: 3600,
        },
      ],
      // Old versions of deleted or replaced images go after 30 days.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: props.removalPolicy,
    });
  }

  grantTableRead(grantee: iam.IGrantable, ...tables: dynamodb.TableV2[]): void {
    this.allow(grantee, TABLE_READ, tables.flatMap((t) => [t.tableArn, `${t.tableArn}/index/*`]));
    this.allow(grantee, ['kms:Decrypt', 'kms:DescribeKey'], [this.dataKey.keyArn]);
  }

  grantTableReadWrite(grantee: iam.IGrantable, ...tables: dynamodb.TableV2[]): void {
    this.allow(grantee, [...TABLE_READ, ...TABLE_WRITE], tables.flatMap((t) => [t.tableArn, `${t.tableArn}/index/*`]));
    this.allow(grantee, DATA_KEY_USE, [this.dataKey.keyArn]);
  }

  /**
   * Makes `grantee` the one signer of `key`: its key policy names the role for kms:Sign (the
   * account is not trusted for Sign, so no IAM policy elsewhere can add a signer), and the
   * role's own policy says the same. A second signer for one key is a programming error.
   */
  grantSign(key: kms.Key, grantee: iam.IGrantable): void {
    const signer = this.signerOf.get(key);
    if (signer) throw new Error(`${key.node.path} already has its signer ${signer.grantPrincipal}`);
    this.signerOf.set(key, grantee);
    key.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'SignOnlyByItsRole', principals: [grantee.grantPrincipal], actions: ['kms:Sign'], resources: ['*'] }),
    );
    this.allow(grantee, ['kms:Sign'], [key.keyArn]);
  }

  /** Public halves, for the JWKS and for verifying bindings; the key policies delegate this to IAM. */
  grantPublicKeys(grantee: iam.IGrantable, ...keys: kms.Key[]): void {
    this.allow(grantee, ['kms:GetPublicKey'], keys.map((key) => key.keyArn));
  }

  /** Presigned PUTs are signed with the function's role: it needs the right the URL hands out. */
  grantImageUpload(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:PutObject', 's3:DeleteObject'], [this.imagesBucket.arnForObjects('accounts/*')]);
    this.allow(grantee, ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], [this.dataKey.keyArn]);
  }

  grantImageRead(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:GetObject'], [this.imagesBucket.arnForObjects('accounts/*')]);
    this.allow(grantee, ['kms:Decrypt'], [this.dataKey.keyArn]);
  }

  /** An asymmetric P-256 key whose policy trusts the account for administration and public-key reads only. */
  private signingRootKey(id: string, description: string, removalPolicy: RemovalPolicy): kms.Key {
    const administration = new iam.PolicyStatement({
      sid: 'AdministrationByTheAccount',
      principals: [new iam.AccountRootPrincipal()],
      actions: SIGNING_KEY_ADMINISTRATION,
      resources: ['*'],
    });
    return new kms.Key(this, id, {
      description,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // A policy of our own replaces CDK's default, which trusts the account (so any IAM policy) with kms:*.
      policy: new iam.PolicyDocument({ statements: [administration] }),
      removalPolicy,
    });
  }

  private allow(grantee: iam.IGrantable, actions: string[], resources: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: resources });
  }
}
