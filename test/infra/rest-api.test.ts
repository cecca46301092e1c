import { Aspects, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import type { SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_FLAVOUR, REST_STAGE_NAME, parseApiFlavour } from '../../infra/api-flavour.js';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '../../infra/stateless-stack.js';
import { NotFoundError, ThrottledError, UnauthenticatedError } from '../../shared/domain/errors.js';
import { errorToResponse } from '../../shared/http/error-mapping.js';
import { synthFlashline } from './synth.js';

type Resources = Record<string, { Type: string; Properties?: any }>;
const mentions = (value: unknown, logicalIdPrefix: string) => new RegExp(`"${logicalIdPrefix}[0-9A-F]{8}"`).test(JSON.stringify(value));
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/**
 * The REST API flavour (`-c apiFlavour=rest`): deployable by the same app, checked by cdk-nag,
 * and the same API as the HTTP one from a client's side (docs/api-gateway.md).
 */
describe('the REST API flavour', () => {
  let stacks: Stack[];
  let template: Template;
  let resources: Resources;

  beforeAll(() => {
    const synthesized = synthFlashline({
      apiFlavour: 'rest',
      corsOrigins: ['https://console.example.com'],
      console: false,
      bundle: false,
      prepare: (app) => Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true, logIgnores: true })),
    });
    stacks = [synthesized.stacks.data, synthesized.stacks.api];
    template = synthesized.template;
    resources = template.toJSON().Resources as Resources;
  });

  it('has no unsuppressed cdk-nag finding in either stack', () => {
    const format = (found: SynthesisMessage[]) => found.map((f) => `${f.id}: ${String(f.entry.data)}`);
    for (const stack of stacks) {
      const annotations = Annotations.fromStack(stack);
      expect(format(annotations.findError('*', Match.anyValue())), stack.stackName).toEqual([]);
      expect(format(annotations.findWarning('*', Match.anyValue())), stack.stackName).toEqual([]);
    }
    // The REST rules ran (and were answered with reasons), not skipped.
    expect(Annotations.fromStack(stacks[1]!).findInfo('*', Match.stringLikeRegexp('AwsSolutions-APIG2 was triggered but suppressed')).length).toBeGreaterThan(0);
  });

  it('is a REST API only: no HTTP API beside it', () => {
    expect(ofType(resources, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
    expect(ofType(resources, 'AWS::ApiGatewayV2::Api')).toHaveLength(0);
  });

  it('authorizes with the same function as a REQUEST authorizer on the Authorization header, cached as long as the HTTP API does', () => {
    const authorizers = ofType(resources, 'AWS::ApiGateway::Authorizer');
    expect(authorizers).toHaveLength(1);
    const properties = authorizers[0]![1].Properties;
    expect(properties).toMatchObject({ Type: 'REQUEST', IdentitySource: 'method.request.header.Authorization', AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_TTL_SECONDS });
    expect(mentions(properties.AuthorizerUri, 'Authorizer')).toBe(true);
  });

  it('guards /v1/* and /v1/device/* with the authorizer and leaves only the JWKS, the OpenAPI document, the JSON 404 and preflights open', () => {
    const pathOf = (resourceRef: any): string => {
      if (!resourceRef?.Ref) return '/';
      const part = resources[resourceRef.Ref]!.Properties;
      return `${pathOf(part.ParentId)}${pathOf(part.ParentId) === '/' ? '' : '/'}${part.PathPart}`;
    };
    const functionOf = (uri: unknown) => ['DeviceCertificates', 'DeviceAuthorizations', 'DeviceApi', 'ManagementApi'].find((prefix) => mentions(uri, prefix));
    const methods = ofType(resources, 'AWS::ApiGateway::Method').map(([, r]) => ({
      key: `${r.Properties.HttpMethod} ${pathOf(r.Properties.ResourceId)}`,
      auth: r.Properties.AuthorizationType,
      target: functionOf(r.Properties.Integration?.Uri),
    }));
    const guarded = methods.filter((m) => m.auth === 'CUSTOM').map((m) => `${m.key} → ${m.target}`);
    // The same split as the HTTP API's routes (http-api.ts), certificates and authorizations
    // included; what lies below /v1/device/authorizations (a release) goes back to the device function.
    expect(guarded.sort()).toEqual([
      'ANY /v1/device/authorizations → DeviceAuthorizations',
      'ANY /v1/device/authorizations/{proxy+} → DeviceApi',
      'ANY /v1/device/certificates → DeviceCertificates',
      'ANY /v1/device/{proxy+} → DeviceApi',
      'ANY /v1/{proxy+} → ManagementApi',
    ]);
    const open = methods.filter((m) => m.auth !== 'CUSTOM' && !m.key.startsWith('OPTIONS')).map((m) => m.key);
    expect(open.sort()).toEqual(['ANY /', 'ANY /v1/openapi.json', 'ANY /v1/signing-keys', 'ANY /{proxy+}']);
  });

  it.each([
    ['UNAUTHORIZED', new UnauthenticatedError()],
    ['THROTTLED', new ThrottledError()],
    ['MISSING_AUTHENTICATION_TOKEN', new NotFoundError('Route', 'No such route')],
  ])('answers API Gateway’s own %s refusal with the contract error body', (type, error) => {
    const responses = ofType(resources, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => r.Properties).filter((p) => p.ResponseType === type);
    expect(responses).toHaveLength(1);
    const expected = errorToResponse(error).response;
    expect(responses[0].StatusCode).toBe(String(expected.statusCode));
    expect(JSON.parse(responses[0].ResponseTemplates['application/json'])).toEqual(JSON.parse(expected.body!));
    expect(responses[0].ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'https://console.example.com'");
    expect(responses[0].ResponseParameters['gatewayresponse.header.Access-Control-Expose-Headers']).toBe("'Retry-After'");
    if (type === 'THROTTLED') expect(responses[0].ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
  });

  it('lets a page of any origin read the gateway’s own refusals when several console origins are configured (it cannot pick one), and none when there is no console', () => {
    const headerOf = (origins: string[]) => {
      const { template: other } = synthFlashline({ apiFlavour: 'rest', corsOrigins: origins, console: false, bundle: false });
      const responses = Object.values(other.findResources('AWS::ApiGateway::GatewayResponse')).map((r) => r.Properties);
      return new Set(responses.map((p) => p.ResponseParameters?.['gatewayresponse.header.Access-Control-Allow-Origin']));
    };
    expect(headerOf(['https://a.example.com', 'https://b.example.com'])).toEqual(new Set(["'*'"]));
    expect(headerOf([])).toEqual(new Set([undefined]));
  });

  it('tells every function behind the API the console origins, since a Lambda proxy answer carries only the headers the function sets', () => {
    const functions = ofType(resources, 'AWS::Lambda::Function');
    for (const prefix of ['ManagementApi', 'DeviceApi', 'DeviceAuthorizations', 'DeviceCertificates']) {
      const fn = functions.find(([id]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
      expect(fn?.[1].Properties.Environment.Variables.CORS_ORIGINS, prefix).toBe('https://console.example.com');
    }
    // Not behind the API: nothing to answer a browser.
    const authorizer = functions.find(([id]) => /^Authorizer[0-9A-F]{8}$/.test(id));
    expect(authorizer?.[1].Properties.Environment.Variables.CORS_ORIGINS).toBeUndefined();
  });

  it('serves one regional stage with the same throttle, access log fields and tracing', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: REST_STAGE_NAME,
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 })]),
      AccessLogSetting: Match.objectLike({ Format: Match.stringLikeRegexp('"authorizerError":"\\$context.authorizer.error"') }),
    });
  });

  it('tells the management function the REST stage URL and keeps the dashboard on the REST API metrics', () => {
    const management = ofType(resources, 'AWS::Lambda::Function').find(([id]) => id.startsWith('ManagementApi'))![1];
    expect(mentions(management.Properties.Environment.Variables.PUBLIC_API_URL, 'RestApi')).toBe(true);
    const dashboard = JSON.stringify(ofType(resources, 'AWS::CloudWatch::Dashboard')[0]![1].Properties.DashboardBody);
    expect(dashboard).toContain('\\"ApiName\\"');
    expect(dashboard).toContain('4XXError');
  });
});

describe('the API flavour switch', () => {
  it('defaults to the HTTP API and accepts rest or http in any case', () => {
    expect(DEFAULT_API_FLAVOUR).toBe('http');
    expect(parseApiFlavour(undefined)).toBe(DEFAULT_API_FLAVOUR);
    expect(parseApiFlavour('REST')).toBe('rest');
    expect(parseApiFlavour(' http ')).toBe('http');
  });

  it('refuses anything else, naming the choices, rather than deploying a default silently', () => {
    expect(() => parseApiFlavour('websocket')).toThrow(/apiFlavour=websocket is not one of http, rest/);
  });
});
