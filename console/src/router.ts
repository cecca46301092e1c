import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../shared/contract/index.js';
import type { RouteContract } from '../../shared/contract/route.js';
import type { UnitLookupKind } from './pages/unit-lookup.js';

const LOOKUP_KINDS: readonly string[] = ['serial', 'mac', 'uid'] satisfies UnitLookupKind[];

/** Hash routes keep the console a set of static files: any CDN serves it, and deep links need no rewrites. */
export type Route =
  | { page: 'dashboard' }
  | { page: 'factories' }
  | { page: 'factory'; factoryId: string }
  | { page: 'job'; jobId: string }
  | { page: 'programmers' }
  | { page: 'publish'; factoryId?: string }
  | { page: 'image'; imageId: string }
  | { page: 'audit' }
  | { page: 'sources' }
  | { page: 'units'; kind?: UnitLookupKind; value?: string }
  | { page: 'api-keys' }
  | { page: 'people' }
  | { page: 'webhooks' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (parts.length === 0 || (first === 'dashboard' && parts.length === 1)) return { page: 'dashboard' };
  if (first === 'factories' && parts.length === 1) return { page: 'factories' };
  if (first === 'factories' && second && parts.length === 2) return { page: 'factory', factoryId: second };
  if (first === 'factories' && second && third === 'publish' && parts.length === 3) return { page: 'publish', factoryId: second };
  if (first === 'jobs' && second && parts.length === 2) return { page: 'job', jobId: second };
  if (first === 'programmers' && parts.length === 1) return { page: 'programmers' };
  if (first === 'images' && second === 'new' && parts.length === 2) return { page: 'publish' };
  if (first === 'images' && second && parts.length === 2) return { page: 'image', imageId: second };
  if (first === 'audit' && parts.length === 1) return { page: 'audit' };
  if (first === 'sources' && parts.length === 1) return { page: 'sources' };
  if (first === 'units' && parts.length === 1) return { page: 'units' };
  if (first === 'units' && second && LOOKUP_KINDS.includes(second) && parts.length === 3) return { page: 'units', kind: second as UnitLookupKind, value: parts[2] };
  if (first === 'api-keys' && parts.length === 1) return { page: 'api-keys' };
  if (first === 'people' && parts.length === 1) return { page: 'people' };
  if (first === 'webhooks' && parts.length === 1) return { page: 'webhooks' };
  return { page: 'not-found', path };
}

export const href = {
  dashboard: () => '#/',
  factories: () => '#/factories',
  factory: (factoryId: string) => `#/factories/${encodeURIComponent(factoryId)}`,
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
  programmers: () => '#/programmers',
  publish: (factoryId?: string) => (factoryId ? `#/factories/${encodeURIComponent(factoryId)}/publish` : '#/images/new'),
  image: (imageId: string) => `#/images/${encodeURIComponent(imageId)}`,
  audit: () => '#/audit',
  sources: () => '#/sources',
  units: (kind?: UnitLookupKind, value?: string) => (kind && value ? `#/units/${kind}/${encodeURIComponent(value)}` : '#/units'),
  apiKeys: () => '#/api-keys',
  people: () => '#/people',
  webhooks: () => '#/webhooks',
};

export interface NavEntry {
  label: string;
  href: string;
  /** The pages that light this entry up as the current one. */
  pages: readonly Route['page'][];
  /** The route the page is built on: the entry is offered only to callers who may call it (permissions.ts `can`). */
  needs: Pick<RouteContract, 'access'>;
  /** Offered only where the stack has a user pool (not deployed with `-c people=off`). */
  needsUserPool?: boolean;
}

/**
 * The main navigation, in order. A new page is one entry here, one case in `parseRoute` and one
 * in the app's page switch.
 */
export const NAV: readonly NavEntry[] = [
  { label: 'Dashboard', href: href.dashboard(), pages: ['dashboard'], needs: contract.listFactories },
  { label: 'Factories', href: href.factories(), pages: ['factories', 'factory', 'job'], needs: contract.listFactories },
  { label: 'Programmers', href: href.programmers(), pages: ['programmers'], needs: contract.listProgrammers },
  { label: 'Publish image', href: href.publish(), pages: ['publish', 'image'], needs: contract.registerImage },
  { label: 'Sources', href: href.sources(), pages: ['sources'], needs: contract.listSerialPools },
  { label: 'Unit lookup', href: href.units(), pages: ['units'], needs: contract.lookupUnits },
  { label: 'Audit trail', href: href.audit(), pages: ['audit'], needs: contract.listAudit },
  { label: 'API keys', href: href.apiKeys(), pages: ['api-keys'], needs: contract.listApiKeys },
  { label: 'People', href: href.people(), pages: ['people'], needs: contract.listPeople, needsUserPool: true },
  { label: 'Webhooks', href: href.webhooks(), pages: ['webhooks'], needs: contract.listWebhooks },
];

export function titleOf(route: Route): string {
  const titles: Record<Route['page'], string> = {
    dashboard: 'Dashboard',
    factories: 'Factories',
    factory: 'Factory',
    job: 'Job',
    programmers: 'Programmers',
    publish: 'Publish an image',
    image: 'Image',
    audit: 'Audit trail',
    sources: 'Unit data sources',
    units: 'Unit lookup',
    'api-keys': 'API keys',
    people: 'People',
    webhooks: 'Webhooks',
    'not-found': 'Not found',
  };
  return titles[route.page];
}

/** What the page on screen would lose if left (a secret shown once): asked before the route changes. */
let leaveWarning: string | undefined;

/**
 * While `warning` is set, leaving the page asks first: the browser's own prompt for a reload,
 * close or another site (beforeunload), a confirmation for a link inside the console (the
 * router's hash change). Cleared when the component goes or `warning` becomes undefined.
 */
export function useLeaveWarning(warning: string | undefined): void {
  useEffect(() => {
    if (!warning) return;
    leaveWarning = warning;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = warning;
    };
    addEventListener('beforeunload', onBeforeUnload);
    return () => {
      if (leaveWarning === warning) leaveWarning = undefined;
      removeEventListener('beforeunload', onBeforeUnload);
    };
  }, [warning]);
}

/** Whether the user may leave the page on screen now: true when nothing would be lost, else their answer to the warning. */
export function confirmLeave(): boolean {
  return !leaveWarning || confirm(leaveWarning);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    let shown = location.href;
    const onChange = () => {
      // The address has already changed: staying puts the shown page's address back, without a new hash change.
      if (leaveWarning && !confirm(leaveWarning)) return history.replaceState(history.state, '', shown);
      shown = location.href;
      setRoute(parseRoute(location.hash));
    };
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(to: string): void {
  location.hash = to;
}
