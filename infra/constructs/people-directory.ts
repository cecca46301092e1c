import { CfnOutput, Duration, type RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** A federated sign-in provider (`-c peopleSso='{…}'`): people of a company sign in with their own IdP. */
export type SsoProvider =
  | { type: 'oidc'; name: string; issuer: string; clientId: string; /** Secrets Manager ARN of the OIDC client secret (resolved at deploy, never in the template). */ clientSecretArn: string }
  | { type: 'saml'; name: string; metadataUrl: string };

export interface PeopleDirectoryProps {
  removalPolicy: RemovalPolicy;
  /** The console's origins: after sign-in (and sign-out) Cognito sends the browser back to `{origin}/`. */
  consoleOrigins: string[];
  /** `required`: every person sets up an authenticator app (TOTP) at first sign-in; `optional`: each may. */
  mfa: 'optional' | 'required';
  sso?: SsoProvider;
  /** The Hosted UI's prefix domain (`{prefix}.auth.{region}.amazoncognito.com`), unique per region. */
  domainPrefix: string;
  /** On an emulator: where it serves the Hosted UI, /oauth2/token and the JWKS (its endpoint). */
  emulatorEndpoint?: string;
}

/**
 * People who sign in to the console: an email + password user pool (self sign-up off: an admin
 * invites), TOTP MFA, optionally an OIDC or SAML provider, and the console's public app client
 * (authorization code + PKCE through the Hosted UI, no secret: a browser cannot keep one).
 * Roles and factories are not here: they live in our table, so the pool holds identity only.
 */
export class PeopleDirectory extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  /** The `iss` of its tokens, as the authorizer must check it. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** Base URL of the Hosted UI and the token endpoint (the console's config.json carries it). */
  readonly signInUrl: string;

  constructor(scope: Construct, id: string, props: PeopleDirectoryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(7) },
      mfa: props.mfa === 'required' ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      userInvitation: {
        emailSubject: 'You are invited to Flashline',
        emailBody: 'Sign in to the Flashline console as {username} with the temporary password {####}; you will choose your own.',
      },
      deletionProtection: false,
      removalPolicy: props.removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this.userPool, [
      { id: 'AwsSolutions-COG2', reason: 'MFA (TOTP) is optional by default and required with -c peopleMfa=required: the deployment decides.' },
      { id: 'AwsSolutions-COG3', reason: 'Advanced security (threat protection) is a paid plan: left to the deployment.' },
      { id: 'AwsSolutions-COG8', reason: 'The Plus feature plan (threat protection) is paid per user: left to the deployment; MFA and SSO come with the default plan.' },
    ]);

    const providers = [cognito.UserPoolClientIdentityProvider.COGNITO];
    const federated = props.sso ? this.ssoProvider(props.sso) : undefined;
    if (federated) providers.push(cognito.UserPoolClientIdentityProvider.custom(federated.providerName));

    const domain = this.userPool.addDomain('SignIn', { cognitoDomain: { domainPrefix: props.domainPrefix } });
    const callbackUrls = props.consoleOrigins.map((origin) => `${origin.replace(/\/$/, '')}/`);
    this.client = this.userPool.addClient('Console', {
      generateSecret: false,
      authFlows: { userSrp: true },
      // Without a console origin there is nowhere to send the browser back to: no Hosted UI sign-in then.
      ...(callbackUrls.length > 0
        ? { oAuth: { flows: { authorizationCodeGrant: true }, scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL], callbackUrls, logoutUrls: callbackUrls } }
        : { oAuth: { flows: { authorizationCodeGrant: false, implicitCodeGrant: false }, callbackUrls: [] } }),
      supportedIdentityProviders: providers,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.minutes(60),
      idTokenValidity: Duration.minutes(60),
      refreshTokenValidity: Duration.hours(12),
    });
    if (federated) this.client.node.addDependency(federated);

    this.issuer = `https://cognito-idp.${stack.region}.${stack.urlSuffix}/${this.userPool.userPoolId}`;
    // The emulator issues the same `iss` as AWS but serves the keys from its own endpoint.
    this.jwksUrl = props.emulatorEndpoint ? `${props.emulatorEndpoint}/${this.userPool.userPoolId}/.well-known/jwks.json` : `${this.issuer}/.well-known/jwks.json`;
    this.signInUrl = props.emulatorEndpoint ?? domain.baseUrl();

    new CfnOutput(stack, 'PeopleUserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(stack, 'PeopleClientId', { value: this.client.userPoolClientId, description: "The console's app client (authorization code + PKCE)" });
    new CfnOutput(stack, 'PeopleSignInUrl', { value: this.signInUrl, description: 'Hosted UI and token endpoint base URL' });
  }

  private ssoProvider(sso: SsoProvider): cognito.IUserPoolIdentityProvider {
    const attributeMapping = { email: cognito.ProviderAttribute.other('email') };
    if (sso.type === 'oidc') {
      return new cognito.UserPoolIdentityProviderOidc(this, 'Sso', {
        userPool: this.userPool,
        name: sso.name,
        issuerUrl: sso.issuer,
        clientId: sso.clientId,
        // A dynamic reference: CloudFormation resolves it at deploy, the template never holds the secret.
        clientSecret: SecretValue.secretsManager(sso.clientSecretArn).unsafeUnwrap(),
        scopes: ['openid', 'email'],
        attributeMapping,
      });
    }
    return new cognito.UserPoolIdentityProviderSaml(this, 'Sso', {
      userPool: this.userPool,
      name: sso.name,
      metadata: cognito.UserPoolIdentityProviderSamlMetadata.url(sso.metadataUrl),
      attributeMapping: { email: cognito.ProviderAttribute.other('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress') },
    });
  }
}

/** `-c peopleSso='{"type":"oidc",…}'`: checked at synth, so a typo fails the deploy before it starts. */
export function parseSsoProvider(value: unknown): SsoProvider | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = (typeof value === 'string' ? JSON.parse(value) : value) as Partial<Record<string, string>>;
  const need = (key: string) => {
    const field = parsed[key];
    if (typeof field !== 'string' || !field) throw new Error(`peopleSso needs "${key}"`);
    return field;
  };
  if (parsed.type === 'oidc') return { type: 'oidc', name: need('name'), issuer: need('issuer'), clientId: need('clientId'), clientSecretArn: need('clientSecretArn') };
  if (parsed.type === 'saml') return { type: 'saml', name: need('name'), metadataUrl: need('metadataUrl') };
  throw new Error('peopleSso.type must be "oidc" or "saml"');
}
