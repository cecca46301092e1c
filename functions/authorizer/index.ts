import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
} from 'aws-lambda';
import { optionalEnv, requireEnv } from '../../shared/config.js';
import { bearerToken } from '../../shared/domain/tokens.js';
import { logger } from '../../shared/http/logger.js';
import { type AuthorizerContext, type Principal, principalToContext } from '../../shared/http/principal.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { count } from '../../shared/observability/metrics.js';
import { observed } from '../../shared/observability/observe.js';
import { createDocumentClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { authenticate } from './authenticate.js';
import { personTokenVerifier } from './person-tokens.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: '', cursors: NO_CURSORS };

/** Only where the stack has a user pool (not with `-c people=off`): people's access tokens. */
const issuer = optionalEnv('PEOPLE_TOKEN_ISSUER');
const verifyPersonToken = issuer ? personTokenVerifier({ issuer, jwksUrl: requireEnv('PEOPLE_JWKS_URL'), clientId: requireEnv('PEOPLE_CLIENT_ID') }) : undefined;

/** HTTP API (payload 2.0, simple responses) or REST API (REQUEST authorizer, IAM policy responses). */
type AuthorizerEvent = APIGatewayRequestAuthorizerEventV2 | APIGatewayRequestAuthorizerEvent;
type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext> | APIGatewayAuthorizerResult;

/**
 * The REQUEST authorizer of either API flavour, cached per Authorization header.
 *
 * It lets every request through and says who the caller is, or that nobody is: API Gateway can
 * only answer a denial with its own 403, while the contract wants `401 unauthenticated` in our
 * error body. The functions refuse any protected route without a principal. The token itself
 * is never logged: only the ids it resolved to.
 */
export const handler = observed(
  async (event: AuthorizerEvent, _context: Context): Promise<AuthorizerResult> => {
    const token = bearerToken(event.headers?.authorization ?? event.headers?.Authorization ?? ('identitySource' in event ? event.identitySource?.[0] : undefined));
    const principal = token ? await authenticate(db, token, verifyPersonToken) : undefined;
    if (token && !principal) count(METRIC.tokensRefused);
    if (principal) logger.appendKeys({ accountId: principal.accountId, ...callerIds(principal) });
    logger.info('authorize', { routeKey: 'methodArn' in event ? event.methodArn : event.routeKey, authenticated: Boolean(principal), kind: principal?.kind });
    const context = principal ? principalToContext(principal) : { kind: 'anonymous' };
    return 'methodArn' in event ? allowEveryMethod(event.methodArn, context) : { isAuthorized: true, context };
  },
  (event) => ({ apiRequestId: event.requestContext?.requestId }),
);

/** The caller's ids for the log lines: never a token, never an email address. */
function callerIds(principal: Principal): Record<string, string> {
  if (principal.kind === 'programmer') return { programmerId: principal.programmerId };
  return principal.via === 'key' ? { keyId: principal.keyId } : { personId: principal.personId };
}

/**
 * A REST API caches the policy per Authorization header and applies it to whatever method the
 * same caller calls next, so it allows the whole stage (`…/{apiId}/{stage}/*`), not the one
 * method that asked: the functions decide per route.
 */
function allowEveryMethod(methodArn: string, context: AuthorizerContext): APIGatewayAuthorizerResult {
  const [apiArn, stage] = methodArn.split('/');
  return {
    principalId: context.accountId ?? 'anonymous',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${apiArn}/${stage}/*` }] },
    context,
  };
}
