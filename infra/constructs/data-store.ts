import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';
import { AccessLogBucket } from './access-log-bucket.js';

export interface DataStoreProps {
  /** RETAIN in production; DESTROY for throw-away stacks (local emulator, previews). */
  removalPolicy: RemovalPolicy;
  /** Origins allowed to PUT presigned uploads from a browser. */
  uploadCorsOrigins: string[];
}

/**
 * The item-level DynamoDB calls a function's code makes (a transaction needs the action of each
 * of its items: Put, Update, Delete). No DescribeTable, BatchWriteItem or ConditionCheckItem:
 * nothing calls them.
 */
export type ItemAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

export interface TableAccess {
  table: dynamodb.TableV2;
  /** Calls on the table itself. */
  items: ItemAction[];
  /** Queries of its secondary indexes (`{table}/index/*`); none by default. */
  queriesIndexes?: boolean;
}

/** Reading (and updating) items or objects encrypted with the data key. */
const DATA_KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'];
/** Writing too: DynamoDB and S3 encrypt new items and objects on the writer's behalf. Explicit: no `kms:*Key*` wildcards. */
const DATA_KEY_WRITE = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];
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
  /** Certifies the authorizations function's in-memory session keys, which sign tickets (api.md v1.1). */
  readonly ticketKey: kms.Key;
  /** Encrypts the functions' and the API's CloudWatch log groups (they hold account and programmer ids). */
  readonly logsKey: kms.Key;
  private readonly signerOf = new Map<kms.Key, string>();
  readonly table: dynamodb.TableV2;
  readonly eventsTable: dynamodb.TableV2;
  readonly imagesBucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  /** Signs list cursors (store/cursors.ts): a generated value no person ever needs to see. */
  readonly cursorKey: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: DataStoreProps) {
    super(scope, id);

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Flashline data at rest (DynamoDB, S3)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });

    this.logsKey = new kms.Key(this, 'LogsKey', {
      description: 'Flashline CloudWatch log groups',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch Logs encrypts on its own behalf, for log groups of this account and region only.
    this.logsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` } },
      }),
    );

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
      // The events' outbox (shared/domain/events.ts): every committed change, old and new item,
      // read by the event relay. Free to read from Lambda; no write of the API pays for it.
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      globalSecondaryIndexes: [
        {
          indexName: 'gsi1',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
        },
        {
          // Jobs by factory, keys only: a job's counters change with every authorization and
          // report, and an index that projected them would bill a second write for each.
          indexName: 'gsi2',
          partitionKey: { name: 'gsi2pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi2sk', type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.KEYS_ONLY,
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

    this.cursorKey = new secretsmanager.Secret(this, 'CursorKey', {
      description: 'Flashline: HMAC key that signs list cursors (opaque positions handed to API clients)',
      encryptionKey: this.dataKey,
      // 64 characters of [A-Za-z0-9]: ~380 bits, more than HMAC-SHA256 can use.
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: props.removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this.cursorKey, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the cursor key would only invalidate the cursors clients hold (they start their list again, 400 invalid_request); nothing else depends on it. Replace it by hand if it ever leaks.',
      },
    ]);

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
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Manifests are asked for again whenever needed (their URLs live 15 minutes): a day is plenty.
        { prefix: 'manifests/', expiration: Duration.days(1), noncurrentVersionExpiration: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
    });
  }

  /**
   * Exactly the calls a function makes on each table, and the data key as DynamoDB uses it on
   * the caller's behalf: Decrypt and DescribeKey unwrap the table key for any item read or
   * write (what CDK's read grants give); functions that create items also keep Encrypt and
   * GenerateDataKey, as CDK's write grants have them. The authorizer and the verifier create
   * nothing, so they cannot encrypt.
   */
  grantTables(grantee: iam.IGrantable, ...access: TableAccess[]): void {
    for (const { table, items, queriesIndexes } of access) {
      this.allow(grantee, items.map((action) => `dynamodb:${action}`), [table.tableArn]);
      if (queriesIndexes) this.allow(grantee, ['dynamodb:Query'], [`${table.tableArn}/index/*`]);
    }
    const creates = access.some(({ items }) => items.includes('PutItem'));
    this.allow(grantee, creates ? DATA_KEY_WRITE : DATA_KEY_READ, [this.dataKey.keyArn]);
  }

  /**
   * Makes the role `roleArn` the one signer of `key` in the key policy: the account is trusted
   * for kms:Sign only on behalf of that role (a condition on the caller's ARN), so no IAM policy
   * elsewhere can add a signer. The role lives in the stateless stack, deployed after this one,
   * so it is named here rather than referenced (infra/stack-names.ts). Its own policy still has
   * to allow the call (`grantSign`). A second signer for one key is a programming error.
   */
  allowSigner(key: kms.Key, roleArn: string): void {
    const signer = this.signerOf.get(key);
    if (signer) throw new Error(`${key.node.path} already has its signer ${signer}`);
    this.signerOf.set(key, roleArn);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SignOnlyByItsRole',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
      }),
    );
  }

  /** The signer's side of `allowSigner`: its role may call kms:Sign on the key. */
  grantSign(key: kms.Key, grantee: iam.IGrantable): void {
    this.allow(grantee, ['kms:Sign'], [key.keyArn]);
  }

  /** Reading the cursor key (the data key decrypts it; functions that page already hold Decrypt). */
  grantCursorKey(grantee: iam.IGrantable): void {
    this.allow(grantee, ['secretsmanager:GetSecretValue'], [this.cursorKey.secretArn]);
    this.allow(grantee, ['kms:Decrypt'], [this.dataKey.keyArn]);
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

  /** Manifests of large jobs: written under `manifests/` and handed out presigned (signed with these rights). */
  grantManifests(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:PutObject', 's3:GetObject'], [this.imagesBucket.arnForObjects('manifests/*')]);
    this.allow(grantee, ['kms:GenerateDataKey', 'kms:Decrypt'], [this.dataKey.keyArn]);
  }

  grantImageRead(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:GetObject'], [this.imagesBucket.arnForObjects('accounts/*')]);
    this.allow(grantee, ['kms:Decrypt'], [this.dataKey.keyArn]);
  }

  /**
   * The verifier's rights on uploads: read the one version an event names, and delete versions
   * for good (rejected, orphaned, superseded). Not s3:GetObject/DeleteObject: it never reads the
   * latest version nor leaves delete markers.
   */
  grantUploadVerification(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:GetObjectVersion', 's3:DeleteObjectVersion'], [this.imagesBucket.arnForObjects('accounts/*')]);
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
