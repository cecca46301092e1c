import { describe, expect, it } from 'vitest';
import { allRoutes } from '../../shared/contract/index.js';
import { Name, provisionProgrammer } from '../../shared/contract/index.js';
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
