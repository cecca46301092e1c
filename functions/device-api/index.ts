import { createHttpHandler } from '../../shared/http/handler.js';
import { observedHttpHandler } from '../../shared/observability/observe.js';
import { rateLimiter } from './deps.js';
import { deviceRoutes } from './routes/index.js';

/** The programmers' routes but creating authorizations (functions/device-authorizations): jobs, download URLs, results, releases, logs. */
export const handler = observedHttpHandler(createHttpHandler(deviceRoutes, { rateLimiter }));
