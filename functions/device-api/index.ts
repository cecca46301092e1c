import { createHttpHandler } from '../../shared/http/handler.js';
import { observedHttpHandler } from '../../shared/observability/observe.js';
import { rateLimiter } from './deps.js';
import { deviceRoutes } from './routes/index.js';

/** The programmers' hot path: jobs, download URLs, authorizations, results, logs. */
export const handler = observedHttpHandler(createHttpHandler(deviceRoutes, { rateLimiter }));
