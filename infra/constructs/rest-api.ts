import { CfnOutput, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ForbiddenError, NotFoundError, ThrottledError, UnauthenticatedError, type AppError } from '../../shared/domain/errors.js';
import { errorToResponse } from '../../shared/http/error-mapping.js';
import { REST_STAGE_NAME } from '../api-flavour.js';
import { apiAccessLogFormat } from './api-access-log.js';
import type { HttpApiProps, PublicApi } from './http-api.js';

/**
 * The REST API (API Gateway v1) flavour of the public API (`-c apiFlavour=rest`): the same
 * routes, functions and authorizer as http-api.ts, plus what only REST has. Gateway responses
 * answer the refusals API Gateway makes itself (no Authorization header, throttling, unknown
 * resource) with the one error body the functions answer with, so a client sees
 * `{"error":{…}}` whoever refused it.
 */
export class RestApi extends Construct implements PublicApi {
  readonly api: apigw.RestApi;
  readonly url: string;
  readonly apiId: string;
  readonly metrics: PublicApi['metrics'];

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH, encryptionKey: props.logsKey, removalPolicy: RemovalPolicy.DESTROY });
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Flashline API v1',
      // Programmers sit in factories near one region: an edge (CloudFront) endpoint adds a hop.
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Execution logs need an account-wide role that one app should not own; access logs suffice.
      cloudWatchRole: false,
      deployOptions: {
        stageName: REST_STAGE_NAME,
        throttlingRateLimit: 500,
        throttlingBurstLimit: 1000,
        tracingEnabled: true,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apiAccessLogFormat(),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: props.corsOrigins.length > 0 ? props.corsOrigins : ['https://invalid.example'],
        allowHeaders: ['authorization', 'content-type'],
        allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'],
      },
    });
    // Built from the API id, not `api.url` (the stage): the management function names this URL,
    // and the stage depends on the deployment, which depends on that function's methods.
    const stack = Stack.of(this);
    this.url = `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${REST_STAGE_NAME}/`;
    this.apiId = this.api.restApiId;
    this.metrics = this.api;
    if (props.customApiId) {
      Tags.of(this.api).add('ms-custom-id', props.customApiId);
      Tags.of(this.api).add('_custom_id_', props.customApiId);
    }
    this.addRoutes(props);
    this.addGatewayResponses(props.corsOrigins);

    new CfnOutput(Stack.of(this), 'ApiUrl', { value: this.url, description: 'Base URL of the Flashline API' });
    new CfnOutput(Stack.of(this), 'ApiId', { value: this.apiId, description: 'API id (local emulators serve it under /_aws/execute-api/{id}/{stage}/)' });
    new CfnOutput(Stack.of(this), 'ApiStage', { value: REST_STAGE_NAME, description: 'The stage segment of the API URL' });
    this.suppressNagFindings();
  }

  /** The same split as the HTTP API: device routes to their function, the rest to management, public routes without the authorizer. */
  private addRoutes(props: HttpApiProps): void {
    // The same function and contract as the HTTP API's authorizer: it answers either event format.
    const authorizer = new apigw.RequestAuthorizer(this, 'TokenAuthorizer', {
      authorizerName: 'flashline-token',
      handler: props.authorizerFunction,
      identitySources: [apigw.IdentitySource.header('Authorization')],
      resultsCacheTtl: props.authorizerCacheTtl,
    });
    // One invoke permission per function, not one per method.
    const management = new apigw.LambdaIntegration(props.managementFunction, { proxy: true, scopePermissionToMethod: false });
    const device = new apigw.LambdaIntegration(props.deviceFunction, { proxy: true, scopePermissionToMethod: false });
    const certificates = new apigw.LambdaIntegration(props.deviceCertificatesFunction, { proxy: true, scopePermissionToMethod: false });
    const authorizations = new apigw.LambdaIntegration(props.deviceAuthorizationsFunction, { proxy: true, scopePermissionToMethod: false });
    const v1 = this.api.root.addResource('v1');
    v1.addProxy({ defaultIntegration: management, anyMethod: true, defaultMethodOptions: { authorizer } });
    const deviceResource = v1.addResource('device');
    deviceResource.addProxy({ defaultIntegration: device, anyMethod: true, defaultMethodOptions: { authorizer } });
    // As on the HTTP API, this path has its own function (the X.509 library stays out of the
    // device bundle). ANY, so another method reaches a function and gets its JSON 405, not a
    // gateway 404 that the HTTP flavour would not give.
    deviceResource.addResource('certificates').addMethod('ANY', certificates, { authorizer });
    // Creating authorizations has its own function too. A REST API matches the most specific
    // resource and never falls back to a shallower proxy, so the paths below it
    // (`/v1/device/authorizations/{id}/release`) get a proxy of their own to the device function.
    const authorizationsResource = deviceResource.addResource('authorizations');
    authorizationsResource.addMethod('ANY', authorizations, { authorizer });
    authorizationsResource.addProxy({ defaultIntegration: device, anyMethod: true, defaultMethodOptions: { authorizer } });
    // Public: the JWKS and OpenAPI documents (ANY: another method gets the function's 405), and
    // `/` and every path outside /v1 (addProxy on the root adds both), which the management
    // function answers with its JSON 404.
    for (const path of ['signing-keys', 'openapi.json']) v1.addResource(path).addMethod('ANY', management);
    this.api.root.addProxy({ defaultIntegration: management, anyMethod: true });
  }

  /**
   * API Gateway's own refusals, in our error body (the same bytes error-mapping.ts makes):
   * no Authorization header (the authorizer never runs) is 401 `unauthenticated`; the stage
   * throttle is 429 `throttled`; a resource without a method (`/v1`, `/v1/device`) is 404 `not_found`.
   */
  private addGatewayResponses(corsOrigins: string[]): void {
    // A browser reads an error only with the CORS header. A gateway response cannot pick the
    // caller's origin among several, so with several it allows any: these refusals come before
    // any function ran and carry no account data (the functions' own answers name one origin).
    const cors: Record<string, string> =
      corsOrigins.length === 0
        ? {}
        : { 'Access-Control-Allow-Origin': corsOrigins.length === 1 ? `'${corsOrigins[0]}'` : "'*'", 'Access-Control-Expose-Headers': "'Retry-After'" };
    const respond = (id: string, type: apigw.ResponseType, error: AppError, extraHeaders: Record<string, string> = {}) =>
      this.api.addGatewayResponse(id, {
        type,
        statusCode: String(error.status),
        responseHeaders: { 'Cache-Control': "'no-store'", ...cors, ...extraHeaders },
        templates: { 'application/json': errorToResponse(error).response.body ?? '' },
      });
    respond('Unauthorized', apigw.ResponseType.UNAUTHORIZED, new UnauthenticatedError());
    respond('AccessDenied', apigw.ResponseType.ACCESS_DENIED, new ForbiddenError());
    respond('Throttled', apigw.ResponseType.THROTTLED, new ThrottledError(), { 'Retry-After': "'1'" });
    respond('MissingRoute', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, new NotFoundError('Route', 'No such route'));
  }

  private suppressNagFindings(): void {
    NagSuppressions.addResourceSuppressions(
      this.api,
      [
        { id: 'AwsSolutions-APIG2', reason: 'Requests are validated by the functions against the zod contract (400 naming the field); a gateway model would be a second, drifting copy.' },
        { id: 'AwsSolutions-APIG3', reason: 'WAF is the operator’s choice per deployment (docs/api-gateway.md); the functions rate-limit per tenant.' },
        { id: 'AwsSolutions-APIG4', reason: 'Public by design: the JWKS and OpenAPI documents, the JSON 404 outside /v1, and CORS preflights.' },
        { id: 'AwsSolutions-APIG6', reason: 'Execution logging needs the account-wide API Gateway CloudWatch role; access logs and function logs cover each request.' },
        { id: 'AwsSolutions-COG4', reason: 'Bearer tokens of our own (API keys, programmer credentials) checked by the Lambda authorizer; no Cognito.' },
      ],
      true,
    );
  }
}
