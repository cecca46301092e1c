import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult, Context } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { bearerToken } from '../../shared/domain/tokens.js';
import { logger } from '../../shared/http/logger.js';
import { type AuthorizerContext, principalToContext } from '../../shared/http/principal.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { count } from '../../shared/observability/metrics.js';
import { observed } from '../../shared/observability/observe.js';
import { createDocumentClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { authenticate } from './authenticate.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: '', cursors: NO_CURSORS };

/**
 * HTTP API REQUEST authorizer (simple responses, cached per Authorization header).
 *
 * It lets every request through and says who the caller is, or that nobody is: HTTP APIs can
 * only answer a denial with a bare 403, while the contract wants `401 unauthenticated` in our
 * error body. The functions refuse any protected route without a principal. The token itself
 * is never logged: only the ids it resolved to.
 */
export const handler = observed(
  async (event: APIGatewayRequestAuthorizerEventV2, _context: Context): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
    const token = bearerToken(event.headers?.authorization ?? event.headers?.Authorization ?? event.identitySource?.[0]);
    const principal = token ? await authenticate(db, token) : undefined;
    if (token && !principal) count(METRIC.tokensRefused);
    if (principal) logger.appendKeys({ accountId: principal.accountId, ...(principal.kind === 'programmer' ? { programmerId: principal.programmerId } : { keyId: principal.keyId }) });
    logger.info('authorize', { routeKey: event.routeKey, authenticated: Boolean(principal), kind: principal?.kind });
    return { isAuthorized: true, context: principal ? principalToContext(principal) : { kind: 'anonymous' } };
  },
  (event) => ({ apiRequestId: event.requestContext?.requestId }),
);
