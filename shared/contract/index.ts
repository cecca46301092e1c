import * as account from './account.js';
import * as audit from './audit.js';
import * as certificates from './certificates.js';
import * as device from './device.js';
import * as factories from './factories.js';
import * as groups from './groups.js';
import * as images from './images.js';
import * as jobs from './jobs.js';
import * as meta from './meta.js';
import * as people from './people.js';
import * as programmers from './programmers.js';
import * as sources from './sources.js';
import * as dataLists from './data-lists.js';
import * as units from './units.js';
import * as webhooks from './webhooks.js';
import type { RouteContract } from './route.js';

export * from './account.js';
export * from './audit.js';
export * from './certificates.js';
export * from './device.js';
export * from './common.js';
export * from './factories.js';
export * from './groups.js';
export * from './images.js';
export * from './jobs.js';
export * from './meta.js';
export * from './people.js';
export * from './programmers.js';
export * from './sources.js';
export * from './data-lists.js';
export * from './units.js';
export * from './route.js';
export * from './webhooks.js';

function routesOf(module: Record<string, unknown>): RouteContract[] {
  return Object.values(module).filter(
    (value): value is RouteContract => typeof value === 'object' && value !== null && 'operationId' in value && 'path' in value,
  );
}

/** Every route of the public API, in one list: the functions, OpenAPI and the client all read it. */
export const allRoutes: readonly RouteContract[] = [account, people, factories, groups, programmers, images, jobs, sources, certificates, dataLists, units, webhooks, device, audit, meta].flatMap(routesOf);
