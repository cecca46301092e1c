import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';

export interface AccessLogBucketProps {
  removalPolicy: RemovalPolicy;
  /** What this bucket collects the logs of, for the cdk-nag suppression's reason. */
  logsOf: string;
}

/**
 * Where S3 server access logs and CloudFront standard logs go: private, TLS only, versioned, kept 90 days.
 * Object ownership stays "bucket owner preferred" because both log deliveries write with ACLs.
 */
export class AccessLogBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      // Versioned so a log cannot be quietly overwritten or deleted; replaced versions go after a day.
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: props.removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this, [
      { id: 'AwsSolutions-S1', reason: `This is the access-log bucket of ${props.logsOf}; logging it into itself would loop.` },
    ]);
  }
}
