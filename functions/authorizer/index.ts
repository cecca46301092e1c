import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { bearerToken } from '../../shared/domain/tokens.js';
import { logger } from '../../shared/http/logger.js';
import { type AuthorizerContext, principalToContext } from '../../shared/http/principal.js';
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
 * error body. The functions refuse any protected route without a principal.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
  const token = bearerToken(event.headers?.authorization ?? event.headers?.Authorization ?? event.identitySource?.[0]);
  const principal = token ? await authenticate(db, token) : undefined;
  logger.info('authorize', { routeKey: event.routeKey, authenticated: Boolean(principal), kind: principal?.kind, accountId: principal?.accountId });
  return { isAuthorized: true, context: principal ? principalToContext(principal) : { kind: 'anonymous' } };
};
