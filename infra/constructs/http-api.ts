import { CfnOutput, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { apiAccessLogFormat } from './api-access-log.js';

/** What the stack and the dashboard need of either API flavour (http-api.ts, rest-api.ts). */
export interface PublicApi {
  readonly url: string;
  readonly apiId: string;
  /** API Gateway's request count, 4xx, 5xx and latency metrics, whichever namespace dimensions the flavour uses. */
  readonly metrics: Pick<apigw.IHttpApi, 'metricCount' | 'metricClientError' | 'metricServerError' | 'metricLatency'>;
}

export interface HttpApiProps {
  authorizerFunction: lambda.IFunction;
  managementFunction: lambda.IFunction;
  deviceFunction: lambda.IFunction;
  /** POST /v1/device/certificates: its own function (the X.509 library stays out of the device bundle). */
  deviceCertificatesFunction: lambda.IFunction;
  /** POST /v1/device/authorizations: its own function (only it signs tickets; both device bundles stay small). */
  deviceAuthorizationsFunction: lambda.IFunction;
  /** How long API Gateway caches an authorizer answer per Authorization header (≤ 60 s by contract). */
  authorizerCacheTtl: Duration;
  corsOrigins: string[];
  /** Encrypts the access-log group. */
  logsKey: kms.IKey;
  /** Pins the API id on emulators (MiniStack's `ms-custom-id` tag, LocalStack's `_custom_id_`), so URLs survive redeploys. */
  customApiId?: string;
}

/**
 * The public HTTP API. Three catch-all routes send each audience to its own function; the
 * functions route precisely from the shared contract. Public routes (JWKS, OpenAPI) and the
 * JSON 404 for unknown paths skip the authorizer.
 */
export class HttpApi extends Construct implements PublicApi {
  readonly api: apigw.HttpApi;
  readonly url: string;
  readonly apiId: string;
  readonly metrics: PublicApi['metrics'];

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);

    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Flashline API v1',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.corsOrigins,
        allowHeaders: ['authorization', 'content-type'],
        allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.PATCH, apigw.CorsHttpMethod.DELETE],
        maxAge: Duration.hours(1),
      },
    });
    this.apiId = this.api.apiId;
    this.metrics = this.api;
    if (props.customApiId) {
      Tags.of(this.api).add('ms-custom-id', props.customApiId);
      Tags.of(this.api).add('_custom_id_', props.customApiId);
    }

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH, encryptionKey: props.logsKey, removalPolicy: RemovalPolicy.DESTROY });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: apiAccessLogFormat(),
      },
    });
    this.url = stage.url;

    const authorizer = new HttpLambdaAuthorizer('TokenAuthorizer', props.authorizerFunction, {
      authorizerName: 'flashline-token',
      identitySource: ['$request.header.Authorization'],
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: props.authorizerCacheTtl,
    });
    const management = new HttpLambdaIntegration('Management', props.managementFunction);
    const device = new HttpLambdaIntegration('Device', props.deviceFunction);

    this.api.addRoutes({ path: '/v1/{proxy+}', methods: [apigw.HttpMethod.ANY], integration: management, authorizer });
    this.api.addRoutes({ path: '/v1/device/{proxy+}', methods: [apigw.HttpMethod.ANY], integration: device, authorizer });
    // More specific than the catch-all: API Gateway sends this one path to its own function. ANY,
    // not POST: another method must reach the function that knows the path and answer its 405
    // with `Allow`, not the device function's 404 for a path it does not serve.
    const certificates = new HttpLambdaIntegration('DeviceCertificates', props.deviceCertificatesFunction);
    this.api.addRoutes({ path: '/v1/device/certificates', methods: [apigw.HttpMethod.ANY], integration: certificates, authorizer });
    // The same for creating authorizations; `/v1/device/authorizations/{id}/release` is deeper, so
    // it stays with the device function's catch-all.
    const authorizations = new HttpLambdaIntegration('DeviceAuthorizations', props.deviceAuthorizationsFunction);
    this.api.addRoutes({ path: '/v1/device/authorizations', methods: [apigw.HttpMethod.ANY], integration: authorizations, authorizer });
    // ANY, not GET: another method of a public path reaches the function and gets its 405 with
    // `Allow`, not the authorized catch-all's 401 (a client without a token would read that as
    // "sign in", not "wrong method"). CORS preflights are answered by API Gateway before routes.
    const publicRoutes = [
      ...this.api.addRoutes({ path: '/v1/signing-keys', methods: [apigw.HttpMethod.ANY], integration: management }),
      ...this.api.addRoutes({ path: '/v1/openapi.json', methods: [apigw.HttpMethod.ANY], integration: management }),
    ];
    const fallback = new apigw.HttpRoute(this, 'Fallback', { httpApi: this.api, routeKey: apigw.HttpRouteKey.DEFAULT, integration: management });

    for (const route of [...publicRoutes, fallback]) {
      NagSuppressions.addResourceSuppressions(route, [
        { id: 'AwsSolutions-APIG4', reason: 'Public by design: the JWKS and OpenAPI document, and the JSON 404 for unknown paths.' },
      ]);
    }

    new CfnOutput(Stack.of(this), 'ApiUrl', { value: this.url, description: 'Base URL of the Flashline API' });
    new CfnOutput(Stack.of(this), 'ApiId', { value: this.api.apiId, description: 'API id (local emulators serve it under /_aws/execute-api/{id}/)' });
  }
}
