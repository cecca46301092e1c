import { describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import * as contract from '../../shared/contract/index.js';
import { MIN_FAILURE_RATE, Name, provisionProgrammer } from '../../shared/contract/index.js';
import { buildOpenApiDocument } from '../../shared/contract/openapi.js';

/** What the served OpenAPI document promises beyond the schemas themselves (the conformance run holds the API to it). */
const document = buildOpenApiDocument('https://api.example.com/') as {
  paths: Record<string, Record<string, { requestBody?: { required?: boolean }; responses: Record<string, any> }>>;
  components: { schemas: Record<string, unknown> };
};
const operation = (path: string, method: string) => document.paths[path]![method]!;

describe('the OpenAPI document', () => {
  it('marks a body required exactly when its schema refuses no body', () => {
    expect(operation('/v1/programmers', 'post').requestBody?.required).toBe(true);
    expect(operation('/v1/device/authorizations', 'post').requestBody?.required).toBe(true);
    for (const route of allRoutes.filter((r) => r.body)) {
      const required = operation(route.path, route.method.toLowerCase()).requestBody?.required;
      expect(required, route.operationId).toBe(!route.body!.safeParse(undefined).success);
    }
  });

  it("documents the gateway's bodiless 401 beside the error body on every authenticated route, and 413 on every route", () => {
    for (const route of allRoutes) {
      const responses = operation(route.path, route.method.toLowerCase()).responses;
      expect(responses['413'], route.operationId).toBeDefined();
      if (route.access.kind === 'public') {
        expect(responses['401'], route.operationId).toBeUndefined();
        continue;
      }
      const schema = responses['401'].content['application/json'].schema;
      expect(schema.anyOf, route.operationId).toEqual([{ $ref: '#/components/schemas/Error' }, { $ref: '#/components/schemas/GatewayUnauthorized' }]);
      expect(responses['401'].description).toContain('{"message":"Unauthorized"}');
    }
    expect(document.components.schemas.GatewayUnauthorized).toMatchObject({ properties: { message: { enum: ['Unauthorized'] } }, required: ['message'] });
  });

  it('links a response carrying an id to the operations that take it, never across audiences', () => {
    const registered = operation('/v1/images', 'post').responses['201'].links;
    // The image names its job too: either pointer gives the same id.
    expect(registered.getJob).toEqual({ operationId: 'getJob', parameters: { 'path.jobId': expect.stringMatching(/^\$response\.body#\/(image|job)\/jobId$/) } });
    expect(registered.getImage).toEqual({ operationId: 'getImage', parameters: { 'path.imageId': '$response.body#/image/imageId' } });
    expect(registered.authorizeProgramming).toBeUndefined();
    const deviceJobs = operation('/v1/device/jobs', 'get').responses['200'].links;
    expect(deviceJobs.authorizeProgramming).toEqual({ operationId: 'authorizeProgramming', requestBody: { jobId: '$response.body#/items/0/jobId' } });
    expect(deviceJobs.getJob).toBeUndefined();
    // A programmer's credentials file carries a keyId that is no API key: no link to revoke one.
    expect(operation('/v1/programmers', 'post').responses['201'].links.revokeApiKey).toBeUndefined();
  });

  it('links ids with more than one word (a created data list to filling it), but not an encryption key name', () => {
    const created = operation('/v1/data-lists', 'post').responses['201'].links;
    expect(created.uploadDataListRows).toEqual({ operationId: 'uploadDataListRows', parameters: { 'path.dataListId': '$response.body#/dataList/dataListId' } });
    expect(operation('/v1/certificate-authorities', 'get').responses['200'].links.getCertificateAuthority).toEqual({
      operationId: 'getCertificateAuthority',
      parameters: { 'path.certificateAuthorityId': '$response.body#/items/0/certificateAuthorityId' },
    });
    expect(operation('/v1/images', 'post').responses['201'].links.replaceJobImage.requestBody).toBeUndefined();
  });

  it('refuses in the schema what trimming would empty, so schema and validation agree', () => {
    const pattern = new RegExp((document.paths['/v1/factories']!.post as any).requestBody.content['application/json'].schema.properties.name.pattern);
    for (const blank of ['\u00a0', ' \t', '\ufeff', '\u3000\u2028']) {
      expect(pattern.test(blank), JSON.stringify(blank)).toBe(false);
      expect(Name.safeParse(blank).success).toBe(false);
    }
    for (const text of ['Line 1', '\u00a0a\u00a0', '\u001c']) {
      expect(pattern.test(text), JSON.stringify(text)).toBe(true);
      expect(Name.safeParse(text).success, JSON.stringify(text)).toBe(true);
    }
    expect(Name.parse('\u00a0 East \u00a0')).toBe('East');
    expect(provisionProgrammer.body!.safeParse({ name: 'P', hardwareSerial: '\u00a0' }).success).toBe(false);
  });
});

/** Rules the document states as schema, validated by the same zod schemas (conformance run, third pass). */
describe('rules the document and validation share', () => {
  const bodySchema = (path: string, method: string) => (operation(path, method).requestBody as any).content['application/json'].schema;
  /** The fields a refusal names, each once. */
  const issuesOf = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) => [...new Set(result.error?.issues.map((issue) => issue.path.join('.')))];

  it('refuses the failure rate 2.2e-311 that was a 500 (DynamoDB stores nothing that small), naming it, and says so with a not', () => {
    // The exact body schemathesis sent (test case nTcV5M).
    const body = {
      restrictions: { autoPause: { minUnits: 12652.0, failureRate: 2.225073858507e-311 }, maxLeaseSeconds: 4422, notAfter: '0674-09-18T15:29:16+21:29', maxCount: 362881, notBefore: '0297-06-21T23:04:59Z' },
      onFailure: 'consume',
      contentSha256: 'c1092d904502fbfd69e091cad5407b79d52346c0d35216b29e3be30448917111',
      encryptionKeyId: 'key',
      name: '\u009dj\ud83d\ude0d\ud83c\udffbZ\u0099\u001c<',
      factoryId: 'iw6V0tVX4Tl0Fap',
      sizeBytes: 15915,
      delivery: 'direct',
    };
    expect(issuesOf(contract.registerImage.body!.safeParse(body))).toEqual(['restrictions.autoPause.failureRate']);
    // The dates of that body are fine: offsets and years before 1970 are RFC 3339 date-times, accepted as the document's format says.
    const withRate = (failureRate: number) => ({ ...body, restrictions: { ...body.restrictions, autoPause: { minUnits: 1, failureRate } } });
    for (const rate of [0, MIN_FAILURE_RATE, 0.5, 1]) expect(contract.registerImage.body!.safeParse(withRate(rate)).success, String(rate)).toBe(true);
    for (const rate of [5e-324, MIN_FAILURE_RATE / 2, -0.1, 1.01]) expect(issuesOf(contract.registerImage.body!.safeParse(withRate(rate))), String(rate)).toEqual(['restrictions.autoPause.failureRate']);
    expect((document.components.schemas.AutoPause as any).properties.failureRate).toMatchObject({ minimum: 0, maximum: 1, not: { exclusiveMinimum: 0, exclusiveMaximum: MIN_FAILURE_RATE } });
  });

  it('marks lists whose items must differ with uniqueItems, and refuses a repeat naming the list', () => {
    expect(bodySchema('/v1/programmers', 'post').properties.groupIds.uniqueItems).toBe(true);
    expect(bodySchema('/v1/api-keys', 'post').properties.factoryIds.uniqueItems).toBe(true);
    expect(bodySchema('/v1/people', 'post').properties.factoryIds.uniqueItems).toBe(true);
    expect(bodySchema('/v1/data-lists', 'post').properties.columns).toMatchObject({ uniqueItems: true, description: expect.stringContaining('`name`') });
    expect(issuesOf(contract.provisionProgrammer.body!.safeParse({ name: '0', hardwareSerial: '0', groupIds: ['0', '0'] }))).toEqual(['groupIds']);
    expect(issuesOf(contract.createDataList.body!.safeParse({ name: 'n', columns: [{ name: 'A' }, { name: 'A', secret: true }] }))).toEqual(['columns']);
  });

  it('says in the schema that an admin takes no factoryIds, as validation refuses it', () => {
    expect(bodySchema('/v1/api-keys', 'post')).toMatchObject({ if: { properties: { role: { const: 'admin' } }, required: ['role'] }, then: { not: { required: ['factoryIds'] } } });
    expect(bodySchema('/v1/people', 'post').then).toEqual({ not: { required: ['factoryIds'] } });
    expect(bodySchema('/v1/people/{personId}', 'patch').then).toEqual({ properties: { factoryIds: { type: 'null' } } });
    expect(issuesOf(contract.createApiKey.body!.safeParse({ factoryIds: ['0'], name: '0', role: 'admin' }))).toEqual(['factoryIds']);
    expect(contract.createApiKey.body!.safeParse({ factoryIds: ['0'], name: '0', role: 'viewer' }).success).toBe(true);
  });

  it('gives a CA subject and a webhook URL the patterns validation applies', () => {
    const subject = new RegExp(bodySchema('/v1/certificate-authorities', 'post').properties.subject.pattern);
    const url = new RegExp(bodySchema('/v1/webhooks', 'post').properties.url.pattern);
    for (const [value, valid] of [['CN=Acme Device CA, O=Acme', true], ['O=x,CN= y ,C=DE', true], ['0'.repeat(40), false], ['O=Acme', false], ['ZZ=a, CN=b', false]] as const) {
      expect(subject.test(value), value).toBe(valid);
      expect(contract.createCertificateAuthority.body!.safeParse({ name: 'n', subject: value }).success, value).toBe(valid);
    }
    for (const [value, valid] of [['https://hooks.example.com/x?y=1', true], ['http://127.0.0.1:8080/hook', true], ['0', false], ['https://10.0.0.1/x', false], ['http://example.com/hook', false]] as const) {
      expect(url.test(value), value).toBe(valid);
      expect(contract.createWebhook.body!.safeParse({ url: value, events: ['job.paused'] }).success, value).toBe(valid);
    }
  });

  it('documents the state conflicts as 409 and no route as 422', () => {
    for (const route of allRoutes) expect(operation(route.path, route.method.toLowerCase()).responses['422'], route.operationId).toBeUndefined();
    expect(operation('/v1/device/authorizations', 'post').responses['409'].description).toContain('invalid_uids');
    expect(operation('/v1/device/results', 'post').responses['409'].description).toContain('uid_mismatch');
    expect(operation('/v1/device/certificates', 'post').responses['409'].description).toContain('serial_not_in_authorization');
    expect(operation('/v1/data-lists/{dataListId}/rows', 'post').responses['409'].description).toContain('rows_rejected');
  });
});
