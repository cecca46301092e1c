import { Aspects, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthFlashline } from './synth.js';

/** AwsSolutions errors of both stacks. */
class BothStacks {
  constructor(readonly stacks: Stack[]) {}
  nagErrors() {
    return this.stacks.flatMap((stack) => Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')));
  }
}

function synth(props: { console: boolean; corsOrigins?: string[]; consoleDomain?: { name: string; certificateArn: string } }, bundle = true) {
  // Tests of the template alone skip asset bundling (the functions and the console build).
  const { stacks, template } = synthFlashline({ ...props, bundle, prepare: (app) => Aspects.of(app).add(new AwsSolutionsChecks()) });
  return { stack: new BothStacks([stacks.data, stacks.api]), template };
}

describe('the console in AWS (S3 + CloudFront)', () => {
  let stack: BothStacks;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth({ console: true }));
  });

  it('keeps the content bucket private and TLS-only, read by CloudFront through origin access control', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { LogFilePrefix: 'console-bucket/' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' }, Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } } }),
        ]),
      },
    });
  });

  it('serves index.html over HTTPS only, with security headers', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] }),
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
      }),
    });
    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const headers = JSON.stringify(Object.values(policies)[0]);
    for (const expected of ["default-src 'none'", "frame-ancestors 'none'", 'StrictTransportSecurity', 'ContentTypeOptions', '"FrameOption":"DENY"', 'no-referrer']) {
      expect(headers).toContain(expected);
    }
  });

  it('lets the console upload a cloud image: S3 in its CSP, the console origin in the images bucket CORS for a signed PUT', () => {
    const headers = JSON.stringify(Object.values(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0]);
    expect(headers).toContain('https://*.s3.');
    expect(headers).toContain(' https://s3.');
    const buckets = Object.values(template.findResources('AWS::S3::Bucket')).map((bucket) => bucket.Properties?.CorsConfiguration?.CorsRules?.[0]).filter(Boolean);
    expect(buckets).toHaveLength(1);
    expect(buckets[0]).toMatchObject({
      AllowedMethods: expect.arrayContaining(['PUT']),
      AllowedHeaders: expect.arrayContaining(['content-type', 'x-amz-checksum-sha256']),
      AllowedOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^ConsoleDistribution/), 'DomainName'] }]] }],
    });
  });

  it('deploys the built console with a config.json naming the API, then invalidates the CDN', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      Prune: true,
      DistributionPaths: ['/*'],
      SourceMarkers: Match.arrayWith([Match.objectLike({ '<<marker:0xbaba:0>>': { Ref: Match.stringLikeRegexp('^HttpApi') } })]),
    });
    template.hasOutput('ConsoleUrl', {});
  });

  it("allows only the console's CloudFront origin in the API's CORS when no origins are given", () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConsoleDistribution'), 'DomainName'] }]] }],
      }),
    });
  });

  it('passes cdk-nag (AwsSolutions) with every finding fixed or suppressed with a reason', () => {
    expect(stack.nagErrors()).toEqual([]);
  });
});

describe('the console on its own domain', () => {
  it('holds viewers to TLS 1.2 with the given ACM certificate and allows that origin in CORS', () => {
    const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-0000-4000-8000-000000000000';
    const { stack, template } = synth({ console: true, consoleDomain: { name: 'console.example.com', certificateArn } }, false);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['console.example.com'],
        ViewerCertificate: { AcmCertificateArn: certificateArn, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://console.example.com'] }) });
    // No CFR4 suppression is needed (nor present) once the TLS policy is ours to choose.
    expect(stack.nagErrors()).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain('AwsSolutions-CFR4');
  });

  it('versions the console bucket and the log buckets, so a bad deploy or a deleted log can be recovered', () => {
    const { template } = synth({ console: true }, false);
    const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
    expect(buckets.length).toBeGreaterThanOrEqual(4);
    for (const bucket of buckets) expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });
});

describe('the stack for emulators', () => {
  it('has no console resources (BucketDeployment cannot run there) and keeps the CORS origins it is given', () => {
    const { template } = synth({ console: false, corsOrigins: ['http://127.0.0.1:4580'] });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('Custom::CDKBucketDeployment', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: ['http://127.0.0.1:4580'] }) });
  });
});
