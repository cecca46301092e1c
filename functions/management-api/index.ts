import { requireEnv } from '../../shared/config.js';
import { createHttpHandler } from '../../shared/http/handler.js';
import { observedHttpHandler } from '../../shared/observability/observe.js';
import { db, rateLimiter } from './deps.js';
import { factoryScoping } from '../../shared/http/factory-scoping.js';
import { factoryResolver } from '../../shared/store/factory-scope.js';
import { accountRoutes } from './routes/account.js';
import { auditRoutes } from './routes/audit.js';
import { certificateRoutes } from './routes/certificates.js';
import { factoryRoutes } from './routes/factories.js';
import { groupRoutes } from './routes/groups.js';
import { imageRoutes } from './routes/images.js';
import { jobRoutes } from './routes/jobs.js';
import { metaRoutes } from './routes/meta.js';
import { peopleRoutes } from './routes/people.js';
import { programmerRoutes } from './routes/programmers.js';
import { sourceRoutes } from './routes/sources.js';
import { dataListRoutes } from './routes/data-lists.js';
import { unitRoutes } from './routes/units.js';
import { webhookRoutes } from './routes/webhooks.js';

/** Everything people and their tools do (account keys), plus the public JWKS and OpenAPI routes. */
export const handler = observedHttpHandler(
  createHttpHandler([...accountRoutes, ...peopleRoutes, ...factoryRoutes, ...groupRoutes, ...programmerRoutes, ...imageRoutes, ...jobRoutes, ...sourceRoutes, ...certificateRoutes, ...dataListRoutes, ...unitRoutes, ...webhookRoutes, ...auditRoutes, ...metaRoutes], {
    // Credentials files and the OpenAPI `servers` name this URL. It comes from the stack, never
    // from the request's Host/X-Forwarded-Host, which any caller can set.
    publicBaseUrl: requireEnv('PUBLIC_API_URL'),
    rateLimiter,
    factoryScoping: factoryScoping(factoryResolver(db)),
  }),
);
