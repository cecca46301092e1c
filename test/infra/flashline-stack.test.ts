import { Aspects, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import type { SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZER_CACHE_TTL_SECONDS, RESERVED_CONCURRENCY } from '../../infra/stateless-stack.js';
import { keys } from '../../shared/store/keys.js';
import { synthFlashline } from './synth.js';

/**
 * The deployment as it deploys to AWS (minus the console, covered by console-site.test.ts): the
 * emulator enforces neither IAM nor bucket policies, so least privilege and the data-at-rest
 * settings are proven here, on the templates (read as one, see synth.ts; stacks.test.ts covers
 * the split itself). Synthesized once for the whole file.
 */
const OUR_FUNCTIONS = ['Authorizer', 'ManagementApi', 'DeviceApi', 'DeviceAuthorizations', 'DeviceCertificates', 'ImageVerifier', 'EventRelay', 'WebhookDelivery', 'PresenceCheck'] as const;
type FunctionName = (typeof OUR_FUNCTIONS)[number];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string }>;

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const mentions = (value: unknown, logicalId: string) => JSON.stringify(value).includes(`"${logicalId}"`);
/** The keys of certificate authorities, created at run time: key/* of the account, scoped by tag in the statement's condition. */
const isCaKeys = (resource: unknown) => JSON.stringify(resource).includes(':key/*');

describe('Flashline templates (both stacks)', () => {
  let stacks: Stack[];
  let template: Template;
  let resources: Resources;

  const logicalIdOf = (type: string, prefix: string): string => {
    const ids = Object.keys(resources).filter((id) => resources[id]?.Type === type && id.startsWith(prefix));
    expect(ids, `${type} ${prefix}*`).toHaveLength(1);
    return ids[0] as string;
  };
  const functionId = (name: FunctionName) => logicalIdOf('AWS::Lambda::Function', name);

  /** Every statement that applies to a function's role: inline, attached policies, managed. */
  const statementsOf = (name: FunctionName): Statement[] => {
    const roleId = resources[functionId(name)]?.Properties?.Role['Fn::GetAtt'][0] as string;
    const role = resources[roleId];
    expect(role?.Type).toBe('AWS::IAM::Role');
    expect(role?.Properties?.ManagedPolicyArns ?? []).toEqual([]);
    const inline = asList(role?.Properties?.Policies).flatMap((policy: any) => policy.PolicyDocument.Statement as Statement[]);
    const attached = Object.values(resources)
      .filter((r) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && asList(r.Properties?.Roles).some((ref: any) => ref?.Ref === roleId))
      .flatMap((r) => r.Properties?.PolicyDocument.Statement as Statement[]);
    return [...inline, ...attached];
  };
  const actionsOf = (name: FunctionName) => new Set(statementsOf(name).flatMap((s) => asList(s.Action)));
  const resourcesFor = (name: FunctionName, action: string) =>
    statementsOf(name)
      .filter((s) => asList(s.Action).includes(action))
      .flatMap((s) => asList(s.Resource));

  beforeAll(() => {
    // The same feature flags as `cdk deploy` reads from cdk.json (minimizePolicies changes statements).
    const synthesized = synthFlashline({
      corsOrigins: ['https://console.example.com'],
      console: false,
      // logIgnores: suppressed findings become info annotations, which proves the checks ran.
      prepare: (app) => Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true, logIgnores: true })),
    });
    stacks = [synthesized.stacks.data, synthesized.stacks.api];
    template = synthesized.template;
    resources = template.toJSON().Resources as Resources;
  });

  describe('cdk-nag and IAM', () => {
    it('has no unsuppressed AwsSolutions errors or warnings (nor rule validation failures, nor any other synth finding)', () => {
      const format = (found: SynthesisMessage[]) => found.map((f) => `${f.id}: ${String(f.entry.data)}`);
      for (const stack of stacks) {
        const annotations = Annotations.fromStack(stack);
        expect(format(annotations.findError('*', Match.anyValue())), stack.stackName).toEqual([]);
        expect(format(annotations.findWarning('*', Match.anyValue())), stack.stackName).toEqual([]);
      }
      expect(Annotations.fromStack(stacks[1]!).findInfo('*', Match.stringLikeRegexp('AwsSolutions-IAM5 was triggered but suppressed')).length).toBeGreaterThan(0);
    });

    it('has no IAM policy statement with a wildcard action', () => {
      const statements = Object.values(resources).flatMap((r) => {
        if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') return r.Properties?.PolicyDocument.Statement as Statement[];
        if (r.Type === 'AWS::IAM::Role') return asList(r.Properties?.Policies).flatMap((p: any) => p.PolicyDocument.Statement as Statement[]);
        return [];
      });
      expect(statements.length).toBeGreaterThan(0);
      const wildcards = statements.flatMap((s) => asList(s.Action)).filter((action) => action.includes('*'));
      expect(wildcards).toEqual([]);
      // And nothing is allowed by NotAction, which would be a wildcard in disguise.
      expect(statements.filter((s) => 'NotAction' in s)).toEqual([]);
    });

    /**
     * Each role's actions, exactly: what its code calls (and CDK's queue grant for the
     * verifier's on-failure destination). Adding a call to a function means adding it here.
     */
    const BASE = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
    const DATA_KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'];
    const DATA_KEY_WRITE = [...DATA_KEY_READ, 'kms:Encrypt', 'kms:GenerateDataKey'];
    const EXACT_ACTIONS: Record<FunctionName, string[]> = {
      Authorizer: [...BASE, 'dynamodb:GetItem', ...DATA_KEY_READ],
      ManagementApi: [
        ...BASE,
        ...['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'].map((a) => `dynamodb:${a}`),
        ...DATA_KEY_WRITE,
        'kms:Sign',
        'kms:GetPublicKey',
        // Certificate authorities' keys, created at run time (tag-scoped: see the CA key tests).
        'kms:CreateKey',
        'kms:TagResource',
        'kms:ScheduleKeyDeletion',
        's3:PutObject',
        's3:DeleteObject',
        // Manifests of large jobs, under manifests/ only (presigned GETs are signed with this right).
        's3:GetObject',
        'secretsmanager:GetSecretValue',
        // POST /v1/webhooks/{id}/test queues its delivery (the notifications key encrypts it: GenerateDataKey, Decrypt).
        'sqs:SendMessage',
        // People: invite, disable (with a global sign-out), enable, remove; on the user pool only (people.test.ts).
        ...['AdminCreateUser', 'AdminDisableUser', 'AdminEnableUser', 'AdminUserGlobalSignOut', 'AdminDeleteUser'].map((a) => `cognito-idp:${a}`),
      ],
      // DeleteItem only in the partitions of returned values and UID claims (checked below); Query only on indexes.
      DeviceApi: [...BASE, ...['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'].map((a) => `dynamodb:${a}`), ...DATA_KEY_WRITE, 's3:GetObject'],
      // Query and DeleteItem only in those partitions; signs with the ticket key, reads the binding key's public key.
      DeviceAuthorizations: [...BASE, ...['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'].map((a) => `dynamodb:${a}`), ...DATA_KEY_WRITE, 'kms:Sign', 'kms:GetPublicKey'],
      DeviceCertificates: [...BASE, ...['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'].map((a) => `dynamodb:${a}`), ...DATA_KEY_WRITE, 'kms:Sign'],
      ImageVerifier: [
        ...BASE,
        'dynamodb:GetItem',
        // Data lists: the rows of an uploaded file are stored as chunk items (DynamoDB encrypts them with the data key on its behalf).
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        ...DATA_KEY_WRITE,
        's3:GetObjectVersion',
        's3:DeleteObjectVersion',
        'sqs:SendMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ],
      // Reads the account's webhooks, puts deliveries, reads the entity table's stream, queues deliveries.
      EventRelay: [
        ...BASE,
        'dynamodb:Query',
        'dynamodb:PutItem',
        ...DATA_KEY_WRITE,
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'sqs:SendMessage',
      ],
      // Reads webhook and delivery, records attempts, opens the secret (kms:Decrypt), consumes and re-queues.
      WebhookDelivery: [
        ...BASE,
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        ...DATA_KEY_READ,
        'kms:GenerateDataKey',
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ],
      PresenceCheck: [...BASE, 'dynamodb:Query', 'dynamodb:UpdateItem', ...DATA_KEY_READ],
    };

    it.each(OUR_FUNCTIONS)('grants %s exactly the actions its code calls', (name) => {
      expect([...actionsOf(name)].sort()).toEqual([...EXACT_ACTIONS[name]].sort());
    });

    it('keeps the grants issue 9 found too wide out: the verifier cannot delete items or sign, the authorizer cannot query, the device cannot delete', () => {
      const verifier = actionsOf('ImageVerifier');
      // Since data lists it creates items (a rows file's chunks, PutItem on the entity table only), still never deletes one.
      for (const action of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'kms:Sign', 's3:PutObject', 's3:GetObject']) {
        expect(verifier, action).not.toContain(action);
      }
      // Dead letters with the notifications key; new items (data-list chunks) with the data key: no other key.
      const notificationsKey = logicalIdOf('AWS::KMS::Key', 'NotificationsKey');
      const dataKeyId = logicalIdOf('AWS::KMS::Key', 'StoreDataKey');
      expect(resourcesFor('ImageVerifier', 'kms:GenerateDataKey').every((r) => mentions(r, notificationsKey) || mentions(r, dataKeyId))).toBe(true);
      const authorizer = actionsOf('Authorizer');
      for (const action of ['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'kms:Encrypt']) expect(authorizer, action).not.toContain(action);
      for (const name of ['DeviceApi', 'DeviceAuthorizations'] as const) {
        for (const action of ['dynamodb:BatchWriteItem', 's3:PutObject', 's3:DeleteObject']) expect(actionsOf(name), action).not.toContain(action);
      }
      // Only the authorizations function signs (tickets) or reads a public key (bindings); it presigns no download.
      for (const action of ['kms:Sign', 'kms:GetPublicKey']) expect(actionsOf('DeviceApi'), action).not.toContain(action);
      expect(actionsOf('DeviceAuthorizations')).not.toContain('s3:GetObject');
      // The management function reads objects only under manifests/ (scoped in the S3 test below).
    });

    it('scopes table rights: the authorizer and the verifier reach the entity table only, never an index; the device queries only indexes of the entity table and only writes the events table', () => {
      const entityTable = logicalIdOf('AWS::DynamoDB::GlobalTable', 'StoreEntityTable');
      const eventsTable = logicalIdOf('AWS::DynamoDB::GlobalTable', 'StoreEventsTable');
      const dataKey = logicalIdOf('AWS::KMS::Key', 'StoreDataKey');
      for (const name of ['Authorizer', 'ImageVerifier'] as const) {
        for (const action of [...actionsOf(name)].filter((a) => a.startsWith('dynamodb:'))) {
          for (const resource of resourcesFor(name, action)) {
            expect(resource).toEqual({ 'Fn::GetAtt': [entityTable, 'Arn'] });
          }
        }
        // The verifier also decrypts with the notifications key (SQS needs it to encrypt a dead letter).
        const notificationsKey = logicalIdOf('AWS::KMS::Key', 'NotificationsKey');
        expect(resourcesFor(name, 'kms:Decrypt').every((r) => mentions(r, dataKey) || (name === 'ImageVerifier' && mentions(r, notificationsKey)))).toBe(true);
      }
      // The device deletes (and queries the base table) only in the partitions of returned values
      // and chip UID claims: every statement granting either carries that LeadingKeys condition.
      for (const name of ['DeviceApi', 'DeviceAuthorizations'] as const) {
        const partitionScoped = statementsOf(name).filter((st) => asList(st.Action).some((a) => a === 'dynamodb:DeleteItem' || (a === 'dynamodb:Query' && !JSON.stringify(st.Resource).includes('/index/*'))));
        expect(partitionScoped.length, name).toBeGreaterThan(0);
        for (const statement of partitionScoped) {
          expect((statement as { Condition?: unknown }).Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keys.deviceDeletablePartitions] } });
        }
      }
      // The authorizations function reaches the entity table alone: no index, no feed.
      for (const action of [...actionsOf('DeviceAuthorizations')].filter((a) => a.startsWith('dynamodb:'))) {
        expect(resourcesFor('DeviceAuthorizations', action), action).toEqual([{ 'Fn::GetAtt': [entityTable, 'Arn'] }]);
      }
      // Feeds are partitions of the events table: nothing queries an index of it.
      for (const name of OUR_FUNCTIONS) {
        expect(resourcesFor(name, 'dynamodb:Query').filter((r) => JSON.stringify(r).includes('/index/*') && mentions(r, eventsTable)), name).toEqual([]);
      }
      // The device reads no feed: it only writes log lines and result batches.
      const deviceQueries = resourcesFor('DeviceApi', 'dynamodb:Query');
      expect(deviceQueries.length).toBeGreaterThan(0);
      expect(deviceQueries.every((r) => mentions(r, entityTable) && !mentions(r, eventsTable))).toBe(true);
      expect(resourcesFor('DeviceApi', 'dynamodb:PutItem')).toContainEqual({ 'Fn::GetAtt': [eventsTable, 'Arn'] });
      for (const action of ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem']) {
        expect(resourcesFor('DeviceApi', action)).toEqual([{ 'Fn::GetAtt': [entityTable, 'Arn'] }]);
      }
    });

    it('grants X-Ray on `*` in a policy of its own, so the `Resource::*` nag suppression covers that policy alone', () => {
      for (const name of OUR_FUNCTIONS) {
        const roleId = resources[functionId(name)]?.Properties?.Role['Fn::GetAtt'][0] as string;
        const policies = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy' && asList(r.Properties?.Roles).some((ref: any) => ref?.Ref === roleId));
        const starred = policies.filter(([, r]) => (r.Properties?.PolicyDocument.Statement as Statement[]).some((st) => st.Resource === '*'));
        // The management function also creates CA keys: kms:CreateKey names no resource, so it is `*`, alone in a policy of its own.
        // The relay's stream needs dynamodb:ListStreams, which has no resource-level permission either: a policy of its own too.
        const own = name === 'EventRelay' ? [`${name}StreamList`, `${name}Tracing`] : name === 'ManagementApi' ? ['ManagementApiCaKeys', `${name}Tracing`] : [`${name}Tracing`];
        expect(starred.map(([id]) => id).sort()).toEqual(own.map((prefix) => expect.stringMatching(new RegExp(`^${prefix}`))));
        const tracing = starred.find(([id]) => id.startsWith(`${name}Tracing`))![1];
        expect((tracing.Properties?.PolicyDocument.Statement as Statement[]).flatMap((st) => asList(st.Action)).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        // And the function still traces, now switched on outside CDK's `tracing` prop.
        expect(resources[functionId(name)]?.Properties?.TracingConfig).toEqual({ Mode: 'Active' });
      }
    });

    it("suppresses AwsSolutions-IAM5 `Resource::*` only on the tracing policies and CDK's own handlers, never on a role of ours", () => {
      const metadataOf = (id: string) => JSON.stringify((template.toJSON().Resources[id] as { Metadata?: unknown }).Metadata ?? {});
      for (const name of OUR_FUNCTIONS) {
        const roleId = resources[functionId(name)]?.Properties?.Role['Fn::GetAtt'][0] as string;
        const roleAndPolicies = Object.keys(resources).filter((id) => id === roleId || (id.startsWith(`${name}Role`) && resources[id]?.Type === 'AWS::IAM::Policy'));
        for (const id of roleAndPolicies) expect(metadataOf(id), id).not.toContain('"Resource::*"');
        expect(metadataOf(logicalIdOf('AWS::IAM::Policy', `${name}Tracing`))).toContain('"Resource::*"');
      }
    });

    it('parks failed upload events in a KMS-encrypted, TLS-only, retained queue after two retries', () => {
      const queue = logicalIdOf('AWS::SQS::Queue', 'ImageVerifierFailures');
      const notificationsKey = logicalIdOf('AWS::KMS::Key', 'NotificationsKey');
      expect(resources[queue]?.Properties).toMatchObject({ KmsMasterKeyId: { 'Fn::GetAtt': [notificationsKey, 'Arn'] }, MessageRetentionPeriod: 14 * 24 * 3600 });
      expect(resources[queue]?.DeletionPolicy).toBe('Retain');
      expect(resources[notificationsKey]?.Properties).toMatchObject({ EnableKeyRotation: true });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId('ImageVerifier') },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    it('scopes S3 object rights to the accounts/ prefix of the images bucket, and manifests/ for the management function', () => {
      const bucket = logicalIdOf('AWS::S3::Bucket', 'StoreImages');
      for (const name of OUR_FUNCTIONS) {
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
          for (const resource of resourcesFor(name, action)) {
            expect(mentions(resource, bucket)).toBe(true);
            // Only the management function stores (and presigns) large jobs' manifests, outside accounts/.
            const manifests = name === 'ManagementApi' && action !== 's3:DeleteObject' && JSON.stringify(resource).includes('/manifests/*');
            if (!manifests) expect(JSON.stringify(resource)).toContain('/accounts/*');
          }
        }
      }
      expect(resourcesFor('ManagementApi', 's3:GetObject').map((resource) => JSON.stringify(resource))).toEqual([expect.stringContaining('/manifests/*')]);
    });
  });

  describe('signing root keys (bindings: management only; ticket session-key certificates: the authorizations function only)', () => {
    const bindingKey = () => logicalIdOf('AWS::KMS::Key', 'StoreSigningKey');
    const ticketKey = () => logicalIdOf('AWS::KMS::Key', 'StoreTicketKey');
    const roleOf = (name: FunctionName) => resources[functionId(name)]?.Properties?.Role['Fn::GetAtt'][0] as string;
    const keyPolicyOf = (keyId: string) => resources[keyId]?.Properties?.KeyPolicy.Statement as (Statement & { Principal: unknown; Condition?: unknown })[];
    /** Whether an action (wildcards included) covers `wanted`: `kms:*` and `kms:Sign*` would. */
    const covers = (action: string, wanted: string) => new RegExp(`^${action.replace(/\*/g, '.*')}$`).test(wanted);
    const allowing = (keyId: string, wanted: string) =>
      keyPolicyOf(keyId).filter((s) => s.Effect === 'Allow' && asList(s.Action).some((action) => covers(action, wanted)));

    it.each([
      ['StoreSigningKey', 'ManagementApi'],
      ['StoreTicketKey', 'DeviceAuthorizations'],
    ] as const)('%s is an ECC_NIST_P256 key whose policy allows kms:Sign to the %s role alone', (prefix, signer) => {
      const keyId = logicalIdOf('AWS::KMS::Key', prefix);
      expect(resources[keyId]?.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      expect(resources[keyId]?.DeletionPolicy).toBe('Retain');
      const signers = allowing(keyId, 'kms:Sign');
      expect(signers).toHaveLength(1);
      // The role is the stateless stack's, deployed after the key: the policy names it by its
      // fixed name in a condition on the caller (a principal must exist when the policy is set).
      const roleName = resources[roleOf(signer)]?.Properties?.RoleName as string;
      expect(roleName).toBe(`FlashlineApi-${signer}-signer`);
      expect(JSON.stringify(signers[0]?.Principal)).toContain(':root');
      expect(signers[0]?.Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::123456789012:role/${roleName}`]] } } });
      expect(signers[0]?.Resource).toBe('*');
      // The account (and so any IAM policy in it) is trusted with administration only: it can
      // neither sign nor create a grant that would let someone else sign.
      expect(allowing(keyId, 'kms:CreateGrant')).toEqual([]);
      const administration = keyPolicyOf(keyId).filter((s) => JSON.stringify(s.Principal).includes(':root') && !s.Condition);
      expect(administration).toHaveLength(1);
      expect(asList(administration[0]?.Action)).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:GetPublicKey', 'kms:ScheduleKeyDeletion']));
      expect(keyPolicyOf(keyId).filter((s) => s.Effect !== 'Allow')).toEqual([]);
    });

    it('lets the management role sign with the binding key only, and the authorizations role with the ticket key only', () => {
      expect(resourcesFor('ManagementApi', 'kms:Sign').length).toBeGreaterThan(0);
      for (const resource of resourcesFor('ManagementApi', 'kms:Sign').filter((r) => !isCaKeys(r))) {
        expect(mentions(resource, bindingKey())).toBe(true);
        expect(mentions(resource, ticketKey())).toBe(false);
      }
      expect(resourcesFor('DeviceAuthorizations', 'kms:Sign').length).toBeGreaterThan(0);
      expect(resourcesFor('DeviceAuthorizations', 'kms:Sign').some(isCaKeys)).toBe(false);
      for (const resource of resourcesFor('DeviceAuthorizations', 'kms:Sign')) {
        expect(mentions(resource, ticketKey())).toBe(true);
        expect(mentions(resource, bindingKey())).toBe(false);
      }
      expect(JSON.stringify(allowing(ticketKey(), 'kms:Sign'))).not.toContain('ManagementApi');
      expect(JSON.stringify(allowing(bindingKey(), 'kms:Sign'))).not.toContain('DeviceAuthorizations');
      for (const name of ['Authorizer', 'ImageVerifier', 'DeviceApi'] as const) expect(actionsOf(name)).not.toContain('kms:Sign');
    });

    it("scopes CA key rights to keys tagged with the deployment's CA tag: created (with that tag only) by management, signed with by management and DeviceCertificates", () => {
      const caStatements = Object.entries(resources)
        .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && /CaKeys/.test(id))
        .flatMap(([id, r]) => (r.Properties?.PolicyDocument.Statement as (Statement & { Condition?: any })[]).map((st) => ({ id, ...st })));
      expect(new Set(caStatements.map((st) => st.id.replace(/CaKeys.*/, '')))).toEqual(new Set(['ManagementApi', 'DeviceCertificates']));
      for (const st of caStatements) {
        if (asList(st.Action).includes('kms:CreateKey') || asList(st.Action).includes('kms:TagResource')) {
          expect(st.Condition.StringEquals['aws:RequestTag/flashline-ca']).toBeDefined();
          expect(st.Condition['ForAllValues:StringEquals']['aws:TagKeys']).toContain('flashline-ca');
        } else {
          expect(st.Condition.StringEquals['aws:ResourceTag/flashline-ca']).toBeDefined();
          expect(isCaKeys(st.Resource)).toBe(true);
        }
      }
      expect(caStatements.filter((st) => st.id.startsWith('DeviceCertificates')).flatMap((st) => asList(st.Action))).toEqual(['kms:Sign']);
    });

    it('lets the JWKS (management) function read both public keys, and the authorizations function the binding key to verify bindings', () => {
      const managementReads = resourcesFor('ManagementApi', 'kms:GetPublicKey');
      expect(managementReads.some((r) => mentions(r, bindingKey()))).toBe(true);
      expect(managementReads.some((r) => mentions(r, ticketKey()))).toBe(true);
      expect(resourcesFor('DeviceAuthorizations', 'kms:GetPublicKey').some((r) => mentions(r, bindingKey()))).toBe(true);
    });

    it('tells the management function its public URL from the API itself, so no request header decides it', () => {
      const variables = resources[functionId('ManagementApi')]?.Properties?.Environment.Variables;
      expect(mentions(variables.PUBLIC_API_URL, logicalIdOf('AWS::ApiGatewayV2::Api', 'HttpApi'))).toBe(true);
      // The device API hands out no URLs: it has none to misuse.
      for (const name of ['DeviceApi', 'DeviceAuthorizations'] as const) expect(resources[functionId(name)]?.Properties?.Environment.Variables.PUBLIC_API_URL).toBeUndefined();
    });

    it('names both keys to the functions that use them through SIGNING_KEY_ID and TICKET_KEY_ID, and none to the other device routes', () => {
      expect(resources[functionId('DeviceApi')]?.Properties?.Environment.Variables).not.toHaveProperty('TICKET_KEY_ID');
      expect(resources[functionId('DeviceApi')]?.Properties?.Environment.Variables).not.toHaveProperty('SIGNING_KEY_ID');
      for (const name of ['ManagementApi', 'DeviceAuthorizations'] as const) {
        expect(resources[functionId(name)]?.Properties?.Environment.Variables).toMatchObject({
          SIGNING_KEY_ID: { Ref: bindingKey() },
          TICKET_KEY_ID: { Ref: ticketKey() },
        });
      }
    });
  });

  describe('stateful resources', () => {
    it('encrypts both tables with the customer-managed data key, with point-in-time recovery, retained', () => {
      const dataKey = logicalIdOf('AWS::KMS::Key', 'StoreDataKey');
      for (const prefix of ['StoreEntityTable', 'StoreEventsTable']) {
        const table = resources[logicalIdOf('AWS::DynamoDB::GlobalTable', prefix)];
        expect(table?.DeletionPolicy).toBe('Retain');
        expect(table?.Properties?.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
        const replicas = table?.Properties?.Replicas as any[];
        expect(replicas.length).toBeGreaterThan(0);
        for (const replica of replicas) {
          expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
          expect(replica.SSESpecification.KMSMasterKeyId).toEqual({ 'Fn::GetAtt': [dataKey, 'Arn'] });
        }
      }
    });

    it('expires events through TTL on expiresAt, and only events', () => {
      expect(resources[logicalIdOf('AWS::DynamoDB::GlobalTable', 'StoreEventsTable')]?.Properties?.TimeToLiveSpecification).toEqual({
        AttributeName: 'expiresAt',
        Enabled: true,
      });
      expect(resources[logicalIdOf('AWS::DynamoDB::GlobalTable', 'StoreEntityTable')]?.Properties?.TimeToLiveSpecification).toBeUndefined();
    });

    it('keeps the images bucket private, versioned, SSE-KMS with the data key, TLS-only, with CORS for uploads', () => {
      const bucketId = logicalIdOf('AWS::S3::Bucket', 'StoreImages');
      const dataKey = logicalIdOf('AWS::KMS::Key', 'StoreDataKey');
      const bucket = resources[bucketId];
      expect(bucket?.DeletionPolicy).toBe('Retain');
      expect(bucket?.Properties).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [dataKey, 'Arn'] } } }],
        },
        CorsConfiguration: {
          CorsRules: [
            expect.objectContaining({
              AllowedMethods: expect.arrayContaining(['PUT', 'GET']),
              AllowedOrigins: ['https://console.example.com'],
              AllowedHeaders: expect.arrayContaining(['x-amz-checksum-sha256']),
            }),
          ],
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    });

    it('rotates the data key and retains it (the signing root keys: see their own block)', () => {
      expect(resources[logicalIdOf('AWS::KMS::Key', 'StoreDataKey')]?.Properties).toMatchObject({ EnableKeyRotation: true });
      expect(resources[logicalIdOf('AWS::KMS::Key', 'StoreDataKey')]?.DeletionPolicy).toBe('Retain');
    });
  });

  describe('functions', () => {
    it('deploys only our functions besides CDK’s own bucket-notification handler', () => {
      const ids = Object.keys(resources).filter((id) => resources[id]?.Type === 'AWS::Lambda::Function');
      const ours = ids.filter((id) => OUR_FUNCTIONS.some((name) => id.startsWith(name)));
      expect(ours).toHaveLength(OUR_FUNCTIONS.length);
      expect(ids.filter((id) => !ours.includes(id)).every((id) => id.startsWith('BucketNotificationsHandler'))).toBe(true);
    });

    it.each(OUR_FUNCTIONS)('runs %s on arm64 nodejs24.x with active tracing and its own log group with retention', (name) => {
      const properties = resources[functionId(name)]?.Properties;
      expect(properties).toMatchObject({ Architectures: ['arm64'], Runtime: 'nodejs24.x', TracingConfig: { Mode: 'Active' } });
      // The device function maps stack traces offline: decoding its source map at load was a third of its init (function-bundling.ts).
      if (name === 'DeviceApi' || name === 'DeviceAuthorizations') expect(properties?.Environment.Variables.NODE_OPTIONS).toBeUndefined();
      else expect(properties?.Environment.Variables.NODE_OPTIONS).toContain('--enable-source-maps');
      const logGroupId = properties?.LoggingConfig?.LogGroup?.Ref as string;
      expect(resources[logGroupId]?.Type).toBe('AWS::Logs::LogGroup');
      expect(resources[logGroupId]?.Properties?.RetentionInDays).toBeGreaterThan(0);
      expect(mentions(resources[logGroupId]?.Properties?.KmsKeyId, logicalIdOf('AWS::KMS::Key', 'StoreLogsKey'))).toBe(true);
    });

    // The events pipeline's functions share the unreserved pool: what they must not starve has its reservation.
    it.each(Object.keys(RESERVED_CONCURRENCY) as (keyof typeof RESERVED_CONCURRENCY)[])('reserves concurrency for %s, leaving at least 100 of the default 1,000 unreserved', (name) => {
      expect(resources[functionId(name)]?.Properties?.ReservedConcurrentExecutions).toBe(RESERVED_CONCURRENCY[name]);
      expect(Object.values(RESERVED_CONCURRENCY).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(900);
    });

    it('encrypts the API access logs with the logs key, which CloudWatch Logs may use for this account only', () => {
      const logsKey = logicalIdOf('AWS::KMS::Key', 'StoreLogsKey');
      const accessLogs = logicalIdOf('AWS::Logs::LogGroup', 'HttpAccessLogs');
      expect(mentions(resources[accessLogs]?.Properties?.KmsKeyId, logsKey)).toBe(true);
      const statements = resources[logsKey]?.Properties?.KeyPolicy.Statement as (Statement & { Principal: any; Condition?: any })[];
      const forLogs = statements.filter((st) => JSON.stringify(st.Principal).includes('logs.'));
      expect(forLogs).toHaveLength(1);
      expect(asList(forLogs[0]?.Action).some((a) => a.includes('*'))).toBe(false);
      expect(JSON.stringify(forLogs[0]?.Condition)).toContain('kms:EncryptionContext:aws:logs:arn');
    });
  });

  describe('HTTP API', () => {
    it('authorizes with a REQUEST authorizer on the Authorization header, cached at most 60 s', () => {
      const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer');
      expect(Object.keys(authorizers)).toHaveLength(1);
      const properties = Object.values(authorizers)[0]?.Properties;
      expect(properties).toMatchObject({
        AuthorizerType: 'REQUEST',
        IdentitySource: ['$request.header.Authorization'],
        EnableSimpleResponses: true,
        AuthorizerPayloadFormatVersion: '2.0',
      });
      expect(properties.AuthorizerResultTtlInSeconds).toBe(AUTHORIZER_CACHE_TTL_SECONDS);
      expect(properties.AuthorizerResultTtlInSeconds).toBeGreaterThan(0);
      expect(properties.AuthorizerResultTtlInSeconds).toBeLessThanOrEqual(60);
      expect(mentions(properties.AuthorizerUri, functionId('Authorizer'))).toBe(true);
    });

    it('leaves only the JWKS, the OpenAPI document and the JSON 404 fallback without the authorizer', () => {
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties);
      const open = routes.filter((r) => r.AuthorizationType !== 'CUSTOM').map((r) => r.RouteKey);
      expect(open.sort()).toEqual(['$default', 'ANY /v1/openapi.json', 'ANY /v1/signing-keys']);
      const guarded = routes.filter((r) => r.AuthorizationType === 'CUSTOM').map((r) => r.RouteKey);
      expect(guarded.sort()).toEqual(['ANY /v1/device/authorizations', 'ANY /v1/device/certificates', 'ANY /v1/device/{proxy+}', 'ANY /v1/{proxy+}']);
    });

    it('sends creating authorizations to its own function and everything else of the device API to the device function', () => {
      const routes = template.findResources('AWS::ApiGatewayV2::Route');
      const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
      const functionOfRoute = (routeKey: string) => {
        const route = Object.values(routes).find((r) => r.Properties.RouteKey === routeKey)!;
        const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[]).map((part) => (part as { Ref?: string }).Ref).find(Boolean)!;
        return (['DeviceAuthorizations', 'DeviceCertificates', 'DeviceApi'] as const).find((name) => mentions(integrations[integrationId]?.Properties.IntegrationUri, functionId(name)));
      };
      expect(functionOfRoute('ANY /v1/device/authorizations')).toBe('DeviceAuthorizations');
      expect(functionOfRoute('ANY /v1/device/{proxy+}')).toBe('DeviceApi');
      expect(functionOfRoute('ANY /v1/device/certificates')).toBe('DeviceCertificates');
    });

    it('allows CORS only from the configured origins', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://console.example.com'], AllowHeaders: Match.arrayWith(['authorization', 'content-type']) }),
      });
      // The HTTP API sets the CORS headers itself: the functions must not add a second one.
      for (const name of OUR_FUNCTIONS) expect(resources[functionId(name)]?.Properties?.Environment.Variables.CORS_ORIGINS, name).toBeUndefined();
    });
  });
});
