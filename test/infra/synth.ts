import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type FlashlineProps, createFlashlineStacks } from '../../infra/stacks.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface SynthOptions extends Partial<FlashlineProps> {
  /** Bundle the functions' and the console's assets (slow); the scans read the template only. */
  bundle?: boolean;
  /** Add aspects (cdk-nag) to the app before synthesis. */
  prepare?: (app: App) => void;
}

/**
 * Both stacks as `cdk deploy` builds them for AWS (the feature flags of cdk.json), plus one view
 * of the deployment: the two templates merged, every `Fn::ImportValue` of the stateless stack
 * replaced by what the stateful stack exports under that name. Assertions about "the function
 * may call X on table T" then read the same whichever stack each side lives in.
 */
export function synthFlashline(options: SynthOptions = {}) {
  const { context } = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const app = new App({ context: options.bundle === false ? { ...context, 'aws:cdk:bundling-stacks': [] } : context });
  const { bundle: _bundle, prepare, ...props } = options;
  const stacks = createFlashlineStacks(app, {
    removalPolicy: RemovalPolicy.RETAIN,
    terminationProtection: true,
    env: { account: '123456789012', region: 'eu-central-1' },
    // As infra/app.ts deploys it unless `-c people=off`.
    people: { mfa: 'optional', domainPrefix: 'flashline-test' },
    ...props,
  });
  prepare?.(app);
  const dataTemplate = Template.fromStack(stacks.data);
  const apiTemplate = Template.fromStack(stacks.api);
  const merged = mergeDeployment(dataTemplate.toJSON(), apiTemplate.toJSON());
  return { app, stacks, dataTemplate, apiTemplate, template: Template.fromJSON(merged), merged };
}

type Json = Record<string, any>;

function mergeDeployment(data: Json, api: Json): Json {
  const exports = new Map<string, unknown>();
  for (const output of Object.values<Json>(data.Outputs ?? {})) {
    if (output.Export?.Name) exports.set(output.Export.Name, output.Value);
  }
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      if (entries.length === 1 && entries[0]![0] === 'Fn::ImportValue') {
        const name = entries[0]![1] as string;
        if (!exports.has(name)) throw new Error(`The stateless stack imports ${name}, which the stateful stack does not export`);
        return exports.get(name);
      }
      return Object.fromEntries(entries.map(([key, inner]) => [key, resolve(inner)]));
    }
    return value;
  };
  const apiResources = resolve(api.Resources) as Json;
  const clash = Object.keys(apiResources).filter((id) => id in data.Resources);
  if (clash.length > 0) throw new Error(`Logical ids in both stacks: ${clash.join(', ')}`);
  return { ...data, Resources: { ...data.Resources, ...apiResources }, Outputs: { ...data.Outputs, ...(resolve(api.Outputs) as Json) } };
}
