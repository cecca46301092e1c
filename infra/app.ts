import { App, Aspects, RemovalPolicy } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FlashlineStack } from './flashline-stack.js';

/**
 * Context (`-c key=value` or cdk.json):
 *   env=local|prod      local: throw-away resources (DESTROY) and a pinned API id for emulators
 *   corsOrigins=a,b     browser origins of the console (default: the local console)
 */
const app = new App();
const env = app.node.tryGetContext('env') ?? 'prod';
const corsOrigins = String(app.node.tryGetContext('corsOrigins') ?? 'http://127.0.0.1:4580,http://localhost:4580')
  .split(',')
  .map((origin) => origin.trim())
  .filter(Boolean);

new FlashlineStack(app, 'Flashline', {
  description: 'Flashline: cloud-connected production flash programming',
  removalPolicy: env === 'local' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  corsOrigins,
  customApiId: env === 'local' ? 'flashline' : undefined,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
