import type { App, Environment, RemovalPolicy } from 'aws-cdk-lib';
import type { ApiFlavour } from './api-flavour.js';
import type { RateLimits } from '../shared/domain/rate-limits.js';
import { STACK_NAMES } from './stack-names.js';
import { FlashlineApiStack } from './stateless-stack.js';
import { FlashlineDataStack, type FlashlineDataStackProps } from './stateful-stack.js';

export interface FlashlineProps {
  removalPolicy: RemovalPolicy;
  /** Termination protection of the stateful stack (production: on). */
  terminationProtection?: boolean;
  corsOrigins?: string[];
  console?: boolean;
  consoleDomain?: { name: string; certificateArn: string };
  customApiId?: string;
  apiFlavour?: ApiFlavour;
  publicApiUrl?: string;
  reserveConcurrency?: boolean;
  alarmEmails?: string[];
  metricMathAlarms?: boolean;
  allowPrivateWebhooks?: boolean;
  webhookRetryBaseSeconds?: number;
  /** Per-programmer and per-account token buckets (`-c rateLimits=…`; default DEFAULT_RATE_LIMITS). */
  rateLimits?: RateLimits;
  /** People's user pool (`-c people=off` leaves it out). */
  people?: FlashlineDataStackProps['people'];
  /** Local stack only: invitations send no mail, the temporary password is shown to the admin. */
  showTemporaryPasswords?: boolean;
  env?: Environment;
}

/** Both stacks of a deployment, wired by props (the app, the template tests and the scans build them alike). */
export function createFlashlineStacks(app: App, props: FlashlineProps): { data: FlashlineDataStack; api: FlashlineApiStack } {
  const data = new FlashlineDataStack(app, STACK_NAMES.stateful, {
    description: 'Flashline data: tables, images bucket, keys, dead-letter queue, console bucket and CDN',
    removalPolicy: props.removalPolicy,
    terminationProtection: props.terminationProtection,
    corsOrigins: props.corsOrigins,
    console: props.console,
    consoleDomain: props.consoleDomain,
    statelessStackName: STACK_NAMES.stateless,
    people: props.people,
    env: props.env,
  });
  const api = new FlashlineApiStack(app, STACK_NAMES.stateless, {
    description: 'Flashline: cloud-connected production flash programming (functions, API, dashboard, alarms)',
    data,
    customApiId: props.customApiId,
    apiFlavour: props.apiFlavour,
    publicApiUrl: props.publicApiUrl,
    reserveConcurrency: props.reserveConcurrency,
    alarmEmails: props.alarmEmails,
    metricMathAlarms: props.metricMathAlarms,
    allowPrivateWebhooks: props.allowPrivateWebhooks,
    webhookRetryBaseSeconds: props.webhookRetryBaseSeconds,
    rateLimits: props.rateLimits,
    showTemporaryPasswords: props.showTemporaryPasswords,
    env: props.env,
  });
  api.addDependency(data, 'the functions use its tables, bucket, keys and queue');
  return { data, api };
}
