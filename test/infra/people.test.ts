import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSsoProvider } from '../../infra/constructs/people-directory.js';
import { ENV } from '../../shared/config.js';
import { synthFlashline } from './synth.js';

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

function resourcesOf(template: Template, type: string) {
  return Object.entries(template.toJSON().Resources as Resources).filter(([, resource]) => resource.Type === type);
}

function functionEnvironment(template: Template, idPrefix: string): Record<string, unknown> {
  const [, fn] = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) => id.startsWith(idPrefix))!;
  return fn.Properties!.Environment.Variables;
}

describe('people: the user pool', () => {
  let template: Template;
  beforeAll(() => {
    template = synthFlashline({ bundle: false, console: false, corsOrigins: ['https://console.example.com'] }).template;
  });

  it('is an email + password pool without self sign-up, TOTP MFA offered and SMS never, a 12-character password policy', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UsernameAttributes: ['email'],
      AdminCreateUserConfig: Match.objectLike({ AllowAdminCreateUserOnly: true }),
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true }) },
    });
  });

  it("gives the console a public client: code + PKCE through the Hosted UI back to the console's origin, no secret, revocable refresh tokens", () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: ['https://console.example.com/'],
      LogoutURLs: ['https://console.example.com/'],
      SupportedIdentityProviders: ['COGNITO'],
      EnableTokenRevocation: true,
    });
    expect(resourcesOf(template, 'AWS::Cognito::UserPoolDomain')).toHaveLength(1);
  });

  it('tells the authorizer the issuer, JWKS and client to accept, and the management function the pool it invites into', () => {
    const authorizer = functionEnvironment(template, 'Authorizer');
    expect(Object.keys(authorizer)).toEqual(expect.arrayContaining([ENV.PEOPLE_TOKEN_ISSUER, ENV.PEOPLE_JWKS_URL, ENV.PEOPLE_CLIENT_ID]));
    expect(JSON.stringify(authorizer[ENV.PEOPLE_TOKEN_ISSUER])).toContain('cognito-idp.eu-central-1.');
    expect(JSON.stringify(authorizer[ENV.PEOPLE_JWKS_URL])).toContain('/.well-known/jwks.json');
    const management = functionEnvironment(template, 'ManagementApi');
    expect(management[ENV.PEOPLE_SHOW_TEMPORARY_PASSWORD]).toBe('false');
    expect(management[ENV.PEOPLE_USER_POOL_ID]).toBeDefined();
  });

  it('lets the management function call the Admin* actions on its own pool only', () => {
    const statements = resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, policy]) => policy.Properties!.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const cognitoStatements = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('cognito-idp:')));
    expect(cognitoStatements).toHaveLength(1);
    expect(JSON.stringify(cognitoStatements[0]!.Resource)).toContain('PeopleUserPool');
  });
});

describe('people=off (LocalStack free plan: no Cognito)', () => {
  it('deploys no user pool and tells no function about one: API keys only', () => {
    const { template } = synthFlashline({ bundle: false, console: false, people: undefined });
    for (const type of ['AWS::Cognito::UserPool', 'AWS::Cognito::UserPoolClient', 'AWS::Cognito::UserPoolDomain']) expect(resourcesOf(template, type)).toHaveLength(0);
    const variables = JSON.stringify(resourcesOf(template, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties?.Environment?.Variables));
    expect(variables).not.toContain('PEOPLE_');
    expect(JSON.stringify(template.toJSON())).not.toContain('cognito-idp:');
  });
});

describe('people: single sign-on and MFA by context', () => {
  it('adds an OIDC provider whose client secret is a Secrets Manager dynamic reference, and offers it on the console client', () => {
    const sso = parseSsoProvider(JSON.stringify({ type: 'oidc', name: 'Corp', issuer: 'https://idp.example.com', clientId: 'abc', clientSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:corp-oidc' }));
    const { template } = synthFlashline({ bundle: false, console: false, corsOrigins: ['https://console.example.com'], people: { mfa: 'required', domainPrefix: 'flashline-test', sso } });
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderName: 'Corp',
      ProviderType: 'OIDC',
      ProviderDetails: Match.objectLike({ client_id: 'abc', oidc_issuer: 'https://idp.example.com', client_secret: Match.stringLikeRegexp('resolve:secretsmanager') }),
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', { SupportedIdentityProviders: ['COGNITO', { Ref: Match.stringLikeRegexp('PeopleSso') }] });
    template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
  });

  it('adds a SAML provider from its metadata URL', () => {
    const sso = parseSsoProvider({ type: 'saml', name: 'CorpSaml', metadataUrl: 'https://idp.example.com/metadata.xml' });
    const { template } = synthFlashline({ bundle: false, console: false, corsOrigins: ['https://console.example.com'], people: { mfa: 'optional', domainPrefix: 'flashline-test', sso } });
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', { ProviderName: 'CorpSaml', ProviderType: 'SAML', ProviderDetails: { MetadataURL: 'https://idp.example.com/metadata.xml' } });
  });

  it('refuses an SSO setting it cannot use, at synth', () => {
    expect(() => parseSsoProvider('{"type":"oidc","name":"Corp"}')).toThrow(/issuer/);
    expect(() => parseSsoProvider('{"type":"ldap"}')).toThrow(/oidc/);
    expect(parseSsoProvider(undefined)).toBeUndefined();
  });
});
